"""Inputs: what a run reads and checks before anything is built.

``yamlio`` reads YAML with line numbers; ``schema`` is the scenario schema (pydantic) and the ranges numbers must lie
in; ``tables`` the input tables' schemas as data; ``dataset`` loads and checks the tables; ``ownership`` completes
each block's equity; ``scenario`` resolves inheritance and overrides into a ``LoadedScenario``; ``databuild``
rebuilds the tables from ``inputs/sources``.
"""
