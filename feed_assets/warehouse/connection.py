"""How every connection to the warehouse is set up before it is used."""

from __future__ import annotations

import duckdb

from feed_assets.warehouse.schema import ensure_schema

# A day's write looks up the history by the day's keys (a few hundred at most). DuckDB turns
# such a semi-join into an index scan only while the key list is below these thresholds;
# raised, every lookup stays an index scan and a day's cost does not grow with the history.
# Insertion order is not needed (every reader orders what it reads), and keeping it makes
# DuckDB use a batch insert that fails with an internal error when it reads an index scan
# and rows inserted earlier in the same transaction (seen with DuckDB 1.5 and 2.0).
SESSION_SETTINGS: dict[str, object] = {
    "dynamic_or_filter_threshold": 100_000,
    "index_scan_max_count": 100_000,
    "preserve_insertion_order": False,
}


def prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Apply the session settings and create any missing table; returns the connection."""
    for name, value in SESSION_SETTINGS.items():
        con.execute(f"set {name} = {value!r}".replace("False", "false").replace("True", "true"))
    ensure_schema(con)
    return con
