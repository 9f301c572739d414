"""Words for dataset codes: mineral, country and JV option names, as a planner reads them.

The one place that turns the codes of a dataset into the words a printout, a report or a plot shows (kept in the
inputs layer, light, so that every command's printout may use it, ``solve``'s too). Its API:

- ``Names(inputs=None)``: the names of a dataset folder (a ``Path`` or ``str``; ``None``, or a folder that does not
  exist: the shipped ``inputs/``). Read once per folder and cached. Any code it does not know comes back unchanged.
- ``Names.mineral("ga")`` -> ``"gallium"``; ``Names.Mineral("ga")`` -> ``"Gallium"``; ``Names.unit("li")`` ->
  ``"t LCE"``.
- ``Names.country("CHN")`` -> ``"China"`` (short names for a few: ``"COD"`` -> ``"DR Congo"``, ``"ROW"`` ->
  ``"Rest of world"``).
- ``Names.option("USA-NI-JPN-PARITY")`` -> ``"nickel 50/50 JV with Japan in the United States"``: a JV or licence
  option from ``jv_options.csv`` (mineral, deal, partner, host); where two options would read alike, the rest of
  the option id tells them apart (``"gallium domestic build in the United States (Nyrstar)"``).
- ``Names.minerals_text("co,ni")`` -> ``"cobalt, nickel"``; ``Names.shock(kind, country, minerals, name)`` -> ``"China
  cuts cobalt"``; ``Names.assumption(family, parameter)`` -> ``"delivered cost, Zimbabwe"`` (stress and sensitivity).
- ``Names.words(text)``: every code in a short text replaced (option ids first, then country and mineral codes
  standing alone), for strings made elsewhere such as ``"CHN cuts co"`` -> ``"China cuts cobalt"``.

``engine.figures.labels`` re-exports ``Names`` beside the words for cost components and JV modes.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd

from engine.paths import inputs_dir

# Shorter names where the ISO name is long or formal.
SHORT_COUNTRY = {
    "COD": "DR Congo", "KOR": "South Korea", "PRK": "North Korea", "ROW": "Rest of world", "USA": "United States",
    "GBR": "United Kingdom", "ARE": "UAE",
}
FALLBACK_MINERALS = {"li": "lithium", "ni": "nickel", "co": "cobalt", "ga": "gallium", "ge": "germanium"}

# A deal in a few words, with its partner (an option's ``mode`` column).
DEALS = {"licensing": "licence from {partner}", "minority": "minority JV with {partner}",
         "parity": "50/50 JV with {partner}", "majority": "majority JV with {partner}", "domestic": "domestic build"}
DEALS_SHORT = {"licensing": "licence", "minority": "minority JV", "parity": "50/50 JV", "majority": "majority JV",
               "domestic": "no partner"}
"""JV modes inside a sentence (lower case, short)."""
# Countries read with an article inside a sentence ("in the United States").
WITH_ARTICLE = {"United States", "United Kingdom", "Netherlands", "Philippines", "UAE", "Czech Republic"}
# Parts of an option id that say nothing its columns do not (besides its host and mineral codes).
GENERIC_ID_PARTS = {"LIC", "MINORITY", "PARITY", "MAJORITY", "DOMESTIC", "CN", "EXP", "JPN", "KOR"}
ID_PART_WORDS = {"RECYCLE": "recycling", "RIO": "Rio Tinto"}


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / f"{name}.csv"
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return None


def _in_country(name: str) -> str:
    return f"the {name}" if name in WITH_ARTICLE else name


def _id_part(part: str) -> str:
    return ID_PART_WORDS.get(part, part if len(part) <= 4 else part.capitalize())


def _option_names(frame: pd.DataFrame | None, minerals: dict[str, str], countries: dict[str, str]) -> dict[str, str]:
    """Option id -> '{mineral} {deal} in {host}', told apart by the rest of the id where two read alike."""
    need = {"option_id", "mineral", "host", "partner", "mode"}
    if frame is None or not need <= set(frame.columns):
        return {}
    plain: dict[str, str] = {}
    for r in frame.itertuples(index=False):
        deal = DEALS.get(r.mode, r.mode).format(partner=_in_country(countries.get(r.partner, r.partner)))
        host = _in_country(countries.get(r.host, r.host))
        plain[r.option_id] = f"{minerals.get(r.mineral, r.mineral)} {deal} in {host}"
    counts: dict[str, int] = {}
    for name in plain.values():
        counts[name] = counts.get(name, 0) + 1
    named = {}
    for r in frame.itertuples(index=False):
        name = plain[r.option_id]
        if counts[name] > 1:
            own = {r.host, str(r.mineral).upper()} | GENERIC_ID_PARTS
            rest = [_id_part(p) for p in str(r.option_id).split("-") if p and p not in own]
            name += f" ({' '.join(rest)})" if rest else ""
        named[r.option_id] = name
    return named


@functools.lru_cache(maxsize=8)
def _minerals(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Mineral names and units of a dataset folder (``minerals.csv``)."""
    minerals = dict(FALLBACK_MINERALS)
    units: dict[str, str] = {}
    frame = _read(folder, "minerals")
    if frame is not None and {"mineral", "name"} <= set(frame.columns):
        minerals.update({m: n.split("(")[0].strip().lower() for m, n in zip(frame["mineral"], frame["name"],
                                                                            strict=True)})
        if "unit" in frame.columns:
            units.update({m: u for m, u in zip(frame["mineral"], frame["unit"], strict=True) if u})
    return minerals, units


@functools.lru_cache(maxsize=8)
def _countries(folder: Path) -> dict[str, str]:
    """Country names of a dataset folder (``countries.csv``, then ``SHORT_COUNTRY``)."""
    countries: dict[str, str] = {}
    frame = _read(folder, "countries")
    if frame is not None and {"iso3", "name"} <= set(frame.columns):
        countries.update(dict(zip(frame["iso3"], frame["name"], strict=True)))
    countries.update(SHORT_COUNTRY)
    return countries


@functools.lru_cache(maxsize=8)
def _options(folder: Path) -> dict[str, str]:
    """JV option names of a dataset folder (``jv_options.csv``)."""
    return _option_names(_read(folder, "jv_options"), _minerals(folder)[0], _countries(folder))


def _names(folder: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """Minerals, countries, units and options of a dataset folder, each read once per folder."""
    minerals, units = _minerals(folder)
    return minerals, _countries(folder), units, _options(folder)


class Names:
    """Mineral and country names from a dataset folder (default: the shipped inputs), falling back to codes.

    Each table is read when a name from it is first asked for (``solve``'s printout asks only for countries: the
    three tables took 9 ms of a cold solve)."""

    def __init__(self, inputs: Path | str | None = None) -> None:
        folder = Path(inputs) if inputs else inputs_dir()
        if not folder.is_dir():
            folder = inputs_dir()
        self._folder = folder.resolve()
        self._pattern: re.Pattern[str] | None = None

    @property
    def minerals(self) -> dict[str, str]:
        return _minerals(self._folder)[0]

    @property
    def units(self) -> dict[str, str]:
        return _minerals(self._folder)[1]

    @property
    def countries(self) -> dict[str, str]:
        return _countries(self._folder)

    @property
    def options(self) -> dict[str, str]:
        return _options(self._folder)

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

    def option(self, option_id: str) -> str:
        """``USA-NI-JPN-PARITY`` -> ``nickel 50/50 JV with Japan in the United States``."""
        return self.options.get(option_id, option_id)

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
            return f"{family}, {DEALS_SHORT.get(parameter, parameter)}"
        if family == "lead times":
            return "JV lead times, all options"
        if family == "unmet demand value":
            return "value of unmet demand"
        return f"{family}, {parameter}"

    def words(self, text: str) -> str:
        """``text`` with every option id, country code (``CHN``) and mineral code (``co``) standing alone in words.

        For short strings made from codes elsewhere (a shock's label, a column's name); a mineral code is replaced
        only as a whole word, so ``co`` in ``cost`` stays."""
        if self._pattern is None:
            codes = sorted({*self.options, *self.countries, *self.minerals}, key=lambda c: (-len(c), c))
            self._pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, codes)) + r")(?![\w-])")
        return self._pattern.sub(lambda m: self.options.get(m[1]) or self.countries.get(m[1]) or
                                 self.minerals.get(m[1], m[1]), text)


__all__ = ["Names"]
