"""Whether every id of a table appears once, without grouping all of its ids on every run.

A table whose ids are all distinct can only come to repeat one through a row written since.
So once a check has found every id distinct, the next time it need only group the ids written
since: the ones the table's change log recorded (``warehouse.changes``, pulled under the
check's name, so that they are kept until it has taken them in) -- provided nothing but
those writes changed the table. To know that, each write of the table records the
fingerprint of its ids before and after it (``record_write``: the number of rows and the
``bit_xor`` of the ids' hashes, one scan of the id column), and the check keeps the
fingerprint of the table it last found unique. When that one leads, write after write, to
the table's fingerprint now, only the pulled ids can repeat; when it does not (a row put in
or changed by hand, a first check, a table replaced whole) the check groups every id, as it
would without any of this. A change outside the writes goes unseen only if it leaves the
same number of rows and the same ``bit_xor`` of 64-bit hashes: it cannot add a copy of an
id without adding a row, and it changes the hashes' ``bit_xor`` unless the ids it removed
and those it put in collide on it.

Measured on ten synthetic years (2,631,634 papers, 2026-12-07): every id grouped (by its
hash) 0.31 s in a fresh process and 0.18 s warm; a fingerprint 0.02-0.03 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from feed_assets.warehouse.changes import pull

Fingerprint = tuple[int, int]  # rows, bit_xor of the ids' hashes
# the id the check groups: the column the change log records a table's changed papers by
# (``table_changes.paper_id``), so the ids written since are those of the same column
ID_COLUMN = "paper_id"


def fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> Fingerprint:
    """The number of rows of ``table`` and the ``bit_xor`` of its ids' hashes (0 when empty)."""
    rows, ids = con.execute(f"select count(*), coalesce(bit_xor(hash({ID_COLUMN})), 0) from {table}").fetchone()
    return rows, ids


def record_write(con: duckdb.DuckDBPyConnection, table: str, before: Fingerprint) -> None:
    """Record, in the writing transaction, that it took ``table`` from the fingerprint ``before``
    (taken at its start) to the one it has now (nothing when they are the same)."""
    after = fingerprint(con, table)
    if after != before:
        con.execute("insert into write_fingerprints values (gen_random_uuid(), ?, ?, ?, ?, ?)",
                    [table, *before, *after])


@dataclass(frozen=True)
class IdCheck:
    """The ids of the table seen more than once (``duplicates``: the most copied, with their
    ``copies``; empty when every id is distinct), and whether all ids were grouped or only
    ``ids_checked`` of them (those written since the last check found the table unique)."""

    duplicates: pd.DataFrame
    whole_table: bool
    ids_checked: int


def check_unique_ids(con: duckdb.DuckDBPyConnection, check: str, table: str, examples: int) -> IdCheck:
    """Whether every id of ``table`` is distinct (call inside a write transaction: when they are,
    the check's progress and fingerprint move up to the table as it is now)."""
    changes = pull(con, check, [table])
    now = fingerprint(con, table)
    verified = con.execute("select row_count, ids_hash from verified_fingerprints where check_name = ? "
                           "and table_name = ?", [check, table]).fetchone()
    writes = con.execute("select write_id, rows_before, ids_before, rows_after, ids_after from write_fingerprints "
                         "where table_name = ?", [table]).fetchall()
    only_written = not changes.full and verified is not None and _leads_to(verified, writes, now)
    if only_written:
        written = f"select distinct {ID_COLUMN} from ({changes.papers(table)})"
        ids_checked = con.execute(f"select count(*) from ({written})").fetchone()[0]
        duplicates = duplicate_keys(con, table, (ID_COLUMN,), f"{ID_COLUMN} in ({written})", examples=examples)
    else:
        ids_checked = now[0]
        duplicates = duplicate_keys(con, table, (ID_COLUMN,), examples=examples)
    if duplicates.empty:
        changes.done(con)
        con.execute("delete from verified_fingerprints where check_name = ? and table_name = ?", [check, table])
        con.execute("insert into verified_fingerprints values (?, ?, ?, ?)", [check, table, *now])
        con.execute("delete from write_fingerprints where write_id in (select unnest(?::uuid[]))",
                    [[write[0] for write in writes]])
    return IdCheck(duplicates, not only_written, ids_checked)


def duplicate_keys(con: duckdb.DuckDBPyConnection, table: str, key: Sequence[str], where: str = "true",
                   params: Sequence = (), examples: int = 10) -> pd.DataFrame:
    """The keys ``key`` that more than one row of ``table`` (those matching ``where``) shares, with
    their ``copies``: the ``examples`` most copied, or none.

    Rows with the same key have the same hash, so when the rows' key hashes are all distinct no
    key repeats; only then is the answer known without grouping the keys themselves. Counting
    distinct 64-bit hashes is the cheaper question (ten synthetic years of ``term_daily_counts``,
    80 million rows: 5.9 s against 20.2 s for grouping by day, kind and term); a repeated hash
    (a repeated key, or a collision) sends the check to the exact grouping, which gives the examples."""
    columns = ", ".join(key)
    repeated = con.execute(f"select count(*) - count(distinct hash({columns})) from {table} where {where}",
                           list(params)).fetchone()[0]
    if not repeated:
        return pd.DataFrame({**{column: [] for column in key}, "copies": []})
    return con.execute(f"""
        select {columns}, count(*) as copies from {table} where {where}
        group by all having count(*) > 1 order by copies desc, {columns} limit {examples}
    """, list(params)).df()


def _leads_to(start: Fingerprint, writes: list[tuple], end: Fingerprint) -> bool:
    """Whether the recorded writes, each taken from the state the one before left, lead from the
    fingerprint ``start`` to ``end`` and use every write (if not, something else changed the
    table, or a write went unrecorded)."""
    left = [(tuple(write[1:3]), tuple(write[3:5])) for write in writes]
    state = tuple(start)
    while left:
        following = next((write for write in left if write[0] == state), None)
        if following is None:
            return False
        left.remove(following)
        state = following[1]
    return state == tuple(end)
