"""What a plan becomes: ``results`` (the tidy tables and every reported number, defined once), ``duals`` and
``policy_status`` (what each policy costs and whether it binds), ``summary`` (summary.json), ``display`` (number
formats for the terminal), ``files`` (atomic folders, CSV and JSON), ``run_folder`` (a run's folder) and
``read_folder`` (reading any results folder back)."""
