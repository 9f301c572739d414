"""Analyses on top of one model: shadow prices, the price-of-independence frontier, infeasibility explanation."""
