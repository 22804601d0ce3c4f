"""How every connection to the warehouse is set up before it is used."""

from __future__ import annotations

import duckdb

from feed_assets.warehouse.schema import ensure_schema

# Readers order what they read, so inserts need not keep the order of their input: DuckDB
# then streams large inserts with less memory. DuckDB's own memory is capped (it spills to
# disk beyond it) so that a run of years stays within a couple of GiB with Python's share.
SESSION_SETTINGS: dict[str, str] = {
    "preserve_insertion_order": "false",
    "memory_limit": "'1GB'",
}


def prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Apply the session settings and create any missing table; returns the connection."""
    for name, value in SESSION_SETTINGS.items():
        con.execute(f"set {name} = {value}")
    ensure_schema(con)
    return con
