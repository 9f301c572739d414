"""Words for codes as a planner reads them: cost components and JV modes here; mineral, country and JV option names
in ``engine.inputs.names.Names`` (re-exported: ``from engine.figures.labels import Names`` works as before)."""

from __future__ import annotations

from engine.inputs.names import DEALS_SHORT as PRINTED_MODES
from engine.inputs.names import FALLBACK_MINERALS, SHORT_COUNTRY, Names

COMPONENTS = {
    "purchase": "Purchases",
    "tariff": "Tariffs",
    "feoc_credit_loss": "Lost FEOC tax credits",
    "jv_capex": "JV capital (annual payments)",
    "jv_opex": "JV operating cost",
    "jv_royalty": "JV royalties and licence fees",
}
MODES = ["licensing", "minority", "parity", "majority", "domestic"]
MODE_LABELS = {
    "licensing": "Licence (no foreign equity)",
    "minority": "Minority JV (partner < 50%)",
    "parity": "50/50 JV",
    "majority": "Majority JV (partner > 50%)",
    "domestic": "Domestic build",
}


def component(code: str) -> str:
    """A cost component in words."""
    return COMPONENTS.get(code, code.replace("_", " "))


def mode(code: str) -> str:
    """A JV mode in words."""
    return MODE_LABELS.get(code, code)


__all__ = ["COMPONENTS", "FALLBACK_MINERALS", "MODES", "MODE_LABELS", "PRINTED_MODES", "SHORT_COUNTRY", "Names",
           "component", "mode"]
