"""Analyses on top of one scenario: the frontier, explain, stress, sweep, robust, worst case, sensitivity,
calibration and ``compare`` (runs side by side). Each ``*_run`` module writes its analysis's folder."""
