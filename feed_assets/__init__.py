"""feed-assets: a daily research-paper feed turned into a DuckDB warehouse, with Dagster."""
