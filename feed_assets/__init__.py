"""feed-assets: a daily research-paper feed turned into a DuckDB warehouse, with Dagster."""

import warnings

# BackfillPolicy.single_run() is the documented way to backfill a range in one run; its beta
# label would otherwise be printed for every asset each time the project loads.
warnings.filterwarnings("ignore", message=".*backfill_policy.*")
