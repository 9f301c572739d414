"""Words for codes: short mineral and country names, cost components and JV modes, as a planner reads them."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from engine.paths import inputs_dir

# Shorter names where the ISO name is long or formal.
SHORT_COUNTRY = {
    "COD": "DR Congo", "KOR": "South Korea", "PRK": "North Korea", "ROW": "Rest of world", "USA": "United States",
    "GBR": "United Kingdom", "ARE": "UAE",
}
FALLBACK_MINERALS = {"li": "lithium", "ni": "nickel", "co": "cobalt", "ga": "gallium", "ge": "germanium"}

COMPONENTS = {
    "purchase": "Purchases",
    "tariff": "Tariffs",
    "feoc_credit_loss": "Lost FEOC tax credits",
    "jv_capex": "JV capital (annual payments)",
    "jv_opex": "JV operating cost",
    "jv_royalty": "JV royalties and licence fees",
}
PRINTED_MODES = {"licensing": "licence", "minority": "minority JV", "parity": "50/50 JV",
                 "majority": "majority JV", "domestic": "no partner"}
"""JV modes inside a sentence (lower case, short)."""
MODES = ["licensing", "minority", "parity", "majority", "domestic"]
MODE_LABELS = {
    "licensing": "Licence (no foreign equity)",
    "minority": "Minority JV (partner < 50%)",
    "parity": "50/50 JV",
    "majority": "Majority JV (partner > 50%)",
    "domestic": "Domestic build",
}


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / f"{name}.csv"
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=8)
def _names(folder: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    minerals = dict(FALLBACK_MINERALS)
    units: dict[str, str] = {}
    frame = _read(folder, "minerals")
    if frame is not None and {"mineral", "name"} <= set(frame.columns):
        minerals.update({m: n.split("(")[0].strip().lower() for m, n in zip(frame["mineral"], frame["name"],
                                                                            strict=True)})
        if "unit" in frame.columns:
            units.update({m: u for m, u in zip(frame["mineral"], frame["unit"], strict=True) if u})
    countries: dict[str, str] = {}
    frame = _read(folder, "countries")
    if frame is not None and {"iso3", "name"} <= set(frame.columns):
        countries.update(dict(zip(frame["iso3"], frame["name"], strict=True)))
    countries.update(SHORT_COUNTRY)
    return minerals, countries, units


class Names:
    """Mineral and country names from a dataset folder (default: the shipped inputs), falling back to codes."""

    def __init__(self, inputs: Path | str | None = None) -> None:
        folder = Path(inputs) if inputs else inputs_dir()
        if not folder.is_dir():
            folder = inputs_dir()
        self.minerals, self.countries, self.units = _names(folder.resolve())

    def mineral(self, code: str) -> str:
        """``ga`` -> ``gallium``."""
        return self.minerals.get(code, code)

    def Mineral(self, code: str) -> str:
        """``ga`` -> ``Gallium``."""
        name = self.mineral(code)
        return name[:1].upper() + name[1:]

    def unit(self, code: str) -> str:
        """The mineral's tonne: ``t``, or ``t LCE`` for lithium."""
        return self.units.get(code, "t")

    def country(self, code: str) -> str:
        """``CHN`` -> ``China``."""
        return self.countries.get(code, code)

    def minerals_text(self, codes: str | list[str] | tuple[str, ...] | None) -> str:
        """``'co,ni'`` or ``['co', 'ni']`` -> ``cobalt, nickel``; blank, None or ``all`` -> ``all minerals``."""
        if isinstance(codes, str):
            codes = [c for c in codes.split(",") if c.strip()] if codes not in ("", "all", "nan") else []
        return ", ".join(self.mineral(c.strip()) for c in codes) if codes else "all minerals"

    def shock(self, kind: str, country: str, minerals: str | list[str] | tuple[str, ...] | None,
              name: str = "") -> str:
        """A stress shock in words: ``China cuts cobalt`` (N-1 by location), ``China-owned plants cut nickel``
        (N-1 by owner); a named shock keeps the name the scenario gave it."""
        if kind == "named" and name:
            return name
        what = self.minerals_text(minerals)
        if kind == "N-1 owner":
            return f"{self.country(country)}-owned plants cut {what}"
        return f"{self.country(country)} cuts {what}"

    def assumption(self, family: str, parameter: str) -> str:
        """A sensitivity assumption in words: ``delivered cost, Zimbabwe``, ``demand, cobalt``, ``JV capex, 50/50
        JV``; families without a country, mineral or mode (lead times, unmet demand value) as they are."""
        if family in ("exportable share", "delivered cost"):
            return f"{family}, {self.country(parameter)}"
        if family == "demand":
            return f"{family}, {self.mineral(parameter)}"
        if family == "JV capex":
            return f"{family}, {PRINTED_MODES.get(parameter, parameter)}"
        if family == "lead times":
            return "JV lead times, all options"
        if family == "unmet demand value":
            return "value of unmet demand"
        return f"{family}, {parameter}"

    def option(self, row: dict | pd.Series) -> str:
        """A JV or licence option from its columns: ``nickel 50/50 JV with Japan in United States``,
        ``lithium licence from China in United States``, ``cobalt plant, no partner, in Canada``."""
        mineral = self.mineral(str(row.get("mineral", "")))
        host, partner, how = (self.country(str(row.get("host", ""))), self.country(str(row.get("partner", ""))),
                              str(row.get("mode", "")))
        if how == "licensing":
            return f"{mineral} licence from {partner} in {host}"
        if how == "domestic" or not partner or partner == host:
            return f"{mineral} plant, no partner, in {host}"
        return f"{mineral} {PRINTED_MODES.get(how, how)} with {partner} in {host}"


def component(code: str) -> str:
    """A cost component in words."""
    return COMPONENTS.get(code, code.replace("_", " "))


def mode(code: str) -> str:
    """A JV mode in words."""
    return MODE_LABELS.get(code, code)
