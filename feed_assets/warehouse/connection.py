"""How every connection to the warehouse is set up before it is used."""

from __future__ import annotations

import duckdb

from feed_assets.warehouse.schema import ensure_schema

# Readers order what they read, so inserts need not keep the order of their input: DuckDB
# then streams large inserts with less memory.
SESSION_SETTINGS: dict[str, str] = {
    "preserve_insertion_order": "false",
}


def prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Apply the session settings and create any missing table; returns the connection."""
    for name, value in SESSION_SETTINGS.items():
        con.execute(f"set {name} = {value}")
    ensure_schema(con)
    return con
