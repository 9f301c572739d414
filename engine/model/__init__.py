"""The solver-neutral model: ``lp`` (columns, rows and the sparse matrix), ``joins`` (fast joins and group-bys by
integer codes) and ``finance`` (annuities and discounting). ``engine.formulation`` builds a scenario's LP on these."""
