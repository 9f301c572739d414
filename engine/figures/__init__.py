"""Figures: ``style`` (colours, number formats, deterministic matplotlib set-up), ``labels`` (codes into words),
``plots`` (a plan's figures) and ``analysis_plots`` (the analyses' figures)."""
