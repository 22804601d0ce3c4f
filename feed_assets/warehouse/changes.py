"""How a table built from others knows what changed: writers record, readers pull.

Every write takes the next version (a row of ``warehouse_writes``) and records in
``table_changes`` the keys it changed in its own table: the value of the table's day column
and, where the table has one, the paper, of the rows it removed and of the rows it wrote.
A writer knows nothing of who reads its tables.

A write that replaces a whole table records one row with neither day nor paper instead of a
row per key (``record_everything``): its readers then rebuild everything, which is what
millions of changed keys would cost them anyway.

A reader (a derived table, or the query copy) keeps in ``reader_progress`` the last version
it has taken in from each table it reads. In its own write transaction it asks for the keys
changed since then (``pull``), rebuilds what they touch, and moves its progress up to the
version it read (``Pull.done``). A reader with no progress yet rebuilds everything. A crash
anywhere rolls the progress back with the rest, so the next run redoes the work: the
tables never depend on the order in which days were loaded.

Adding a derived table touches none of this: it pulls the changes of the tables it reads
under its own name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb


def next_version(con: duckdb.DuckDBPyConnection, writer: str) -> int:
    """Register a write in the current transaction; returns the version its changes carry.
    (Read, then inserted: DuckLake takes no ``insert ... returning``.)"""
    version = con.execute("select coalesce(max(version), 0) + 1 from warehouse_writes").fetchone()[0]
    con.execute("insert into warehouse_writes values (?, ?, now()::timestamp)", [version, writer])
    return version


def record_changes(con: duckdb.DuckDBPyConnection, version: int, table: str, keys_sql: str,
                   params: Sequence[object] = ()) -> None:
    """Record the changed keys that ``keys_sql`` selects (columns ``day`` and ``paper_id``)."""
    con.execute(f"""
        insert into table_changes (version, table_name, day, paper_id)
        select distinct {int(version)}, '{table}', day, paper_id from ({keys_sql})
        where day is not null or paper_id is not null
    """, list(params))


def record_everything(con: duckdb.DuckDBPyConnection, version: int, table: str) -> None:
    """Record that the write replaced the whole table: its readers rebuild everything."""
    con.execute("insert into table_changes (version, table_name, day, paper_id) values (?, ?, null, null)",
                [version, table])


@dataclass(frozen=True)
class Pull:
    """What a reader has to take in: the changes of its tables since its progress, up to ``upto``.

    ``whole`` names the tables the reader must take in whole: it has never read them, or
    they were replaced whole since. ``full`` is true when there is any: a reader that
    rebuilds from all its tables together then rebuilds everything, and the SQL of ``days``
    and ``papers`` is not needed.
    """

    reader: str
    tables: tuple[str, ...]
    since: dict[str, int]
    upto: int
    whole: frozenset[str]

    @property
    def full(self) -> bool:
        return bool(self.whole)

    def _changes(self, table: str) -> str:
        return (f"select day, paper_id from table_changes where table_name = '{table}' "
                f"and version > {self.since.get(table, 0)} and version <= {self.upto}")

    def days(self, *tables: str) -> str:
        """SQL of the distinct days changed in ``tables`` (one column, ``day``)."""
        return " union ".join(f"select day from ({self._changes(t)}) where day is not null" for t in tables)

    def papers(self, *tables: str) -> str:
        """SQL of the distinct papers changed in ``tables`` (one column, ``paper_id``)."""
        return " union ".join(f"select paper_id from ({self._changes(t)}) where paper_id is not null"
                              for t in tables)

    def done(self, con: duckdb.DuckDBPyConnection) -> None:
        """Move the reader's progress up to ``upto`` (in the reader's transaction), and drop the
        changes every registered reader of a table has taken in."""
        tables = list(self.tables)
        con.execute("delete from reader_progress where reader = ? and table_name in (select unnest(?::varchar[]))",
                    [self.reader, tables])
        con.execute("insert into reader_progress select ?, unnest(?::varchar[]), ?", [self.reader, tables, self.upto])
        con.execute("""
            delete from table_changes using (
                select table_name, min(version) as version from reader_progress
                where table_name in (select unnest(?::varchar[])) group by table_name
            ) as taken_in
            where table_changes.table_name = taken_in.table_name and table_changes.version <= taken_in.version
        """, [tables])

    def changed(self, con: duckdb.DuckDBPyConnection) -> frozenset[str]:
        """The tables with anything to take in: those of ``whole`` and those with changes since."""
        if not self.since:
            return self.whole
        return self.whole | {row[0] for row in con.execute("""
            select distinct c.table_name from table_changes c
            join (select unnest(?::varchar[]) as table_name, unnest(?::bigint[]) as version) read using (table_name)
            where c.version > read.version and c.version <= ?
        """, [list(self.since), list(self.since.values()), self.upto]).fetchall()}


def pull(con: duckdb.DuckDBPyConnection, reader: str, tables: Sequence[str]) -> Pull:
    """The changes of ``tables`` that ``reader`` has not taken in yet (call inside its transaction)."""
    since = dict(con.execute(
        "select table_name, version from reader_progress where reader = ? and table_name in (select unnest(?))",
        [reader, list(tables)]).fetchall())
    upto = con.execute("select coalesce(max(version), 0) from warehouse_writes").fetchone()[0]
    replaced = {row[0] for row in con.execute("""
        select distinct c.table_name from table_changes c
        join (select unnest(?::varchar[]) as table_name, unnest(?::bigint[]) as version) read using (table_name)
        where c.version > read.version and c.version <= ? and c.day is null and c.paper_id is null
    """, [list(since), list(since.values()), upto]).fetchall()} if since else set()
    whole = frozenset(table for table in tables if table not in since or table in replaced)
    return Pull(reader, tuple(tables), since, upto, whole)
