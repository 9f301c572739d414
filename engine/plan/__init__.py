"""The plan: ``hierarchy`` solves the objectives in order (unmet demand, then cost or dependence, each level kept
for the next) on one loaded solver; ``ties`` settles the ties left after the last stage by a fixed rule."""
