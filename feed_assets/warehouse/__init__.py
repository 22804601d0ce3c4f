"""The DuckDB warehouse: every table's DDL (``schema``) and the one write pattern (``writes``)."""
