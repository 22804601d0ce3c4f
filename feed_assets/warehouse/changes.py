"""How a table built from others knows what changed: writers record, readers pull.

Every write takes the next version (a row of ``warehouse_writes``) and records in
``table_changes`` the keys it changed in its own table: the value of the table's day column
and, where the table has one, the paper, of the rows it removed and of the rows it wrote.
A writer knows nothing of who reads its tables.

Versions follow the order of the commits, not of the writes' starts: a write gets a
provisional version (``next_version``, negative) and records its keys in temporary tables of
its connection; just before its transaction commits, ``file_changes`` gives its writes the
next versions and files their keys. On a DuckLake, where several processes write at once
(``raw_dumps`` of different days: ``resources.Warehouse``), that happens under a short lock
of the catalog, the next version read afresh, so that a reader that has taken in version n
can never later see a version below n commit (it would never pull it).

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

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from feed_assets.warehouse.connection import has_temporary_table, is_write_conflict


_PENDING = (
    "create temp table if not exists pending_writes (version bigint, writer varchar)",
    "create temp table if not exists pending_changes (version bigint, table_name varchar, day date, paper_id varchar)",
)


def next_version(con: duckdb.DuckDBPyConnection, writer: str) -> int:
    """Register a write in the current transaction; returns the provisional version its changes
    carry until the transaction commits (-1, -2... in the order of the transaction's writes)."""
    for statement in _PENDING:
        con.execute(statement)
    version = con.execute("select coalesce(min(version), 0) - 1 from pending_writes").fetchone()[0]
    con.execute("insert into pending_writes values (?, ?)", [version, writer])
    return version


def record_changes(con: duckdb.DuckDBPyConnection, version: int, table: str, keys_sql: str,
                   params: Sequence[object] = ()) -> None:
    """Record the changed keys that ``keys_sql`` selects (columns ``day`` and ``paper_id``)."""
    con.execute(f"""
        insert into pending_changes (version, table_name, day, paper_id)
        select distinct {int(version)}, '{table}', day, paper_id from ({keys_sql})
        where day is not null or paper_id is not null
    """, list(params))


def record_everything(con: duckdb.DuckDBPyConnection, version: int, table: str) -> None:
    """Record that the write replaced the whole table: its readers rebuild everything."""
    con.execute("insert into pending_changes (version, table_name, day, paper_id) values (?, ?, null, null)",
                [version, table])


def recorded_days(version: int) -> str:
    """SQL of the distinct days the transaction's write ``version`` recorded so far (column ``day``)."""
    return f"select distinct day from pending_changes where version = {int(version)} and day is not null"


def last_written_papers(writer: str, table: str) -> str:
    """SQL of the papers (one column, ``paper_id``) that ``writer``'s last committed write
    recorded as changed in ``table``; for what a step shows of its own write, once committed
    (``drop_taken_in`` keeps them until the table's readers have taken them in)."""
    return (f"select paper_id from table_changes where table_name = '{table}' and paper_id is not null "
            f"and version = (select max(version) from warehouse_writes where writer = '{writer}')")


def has_pending_writes(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the current transaction registered writes that ``file_changes`` has not filed yet."""
    return has_temporary_table(con, "pending_writes") and bool(
        con.execute("select count(*) from pending_writes").fetchone()[0])


def file_changes(con: duckdb.DuckDBPyConnection, first_free: int) -> None:
    """Give the transaction's writes the versions ``first_free``, ``first_free + 1``... (in their
    order) and file them and their keys in ``warehouse_writes`` and ``table_changes``; call it
    just before the commit, with the next version no committed write has (when
    ``has_pending_writes``)."""
    # provisional -1 becomes first_free, -2 first_free + 1, ...
    # the time of the commit, not of the transaction's start (now()): versions follow the commits
    committed_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con.execute("insert into warehouse_writes select ? - 1 - version, writer, ? from pending_writes",
                [first_free, committed_at])
    con.execute("insert into table_changes (version, table_name, day, paper_id) "
                "select ? - 1 - version, table_name, day, paper_id from pending_changes", [first_free])
    con.execute("delete from pending_changes")
    con.execute("delete from pending_writes")


def drop_taken_in(con: duckdb.DuckDBPyConnection) -> None:
    """After a commit that moved readers' progress (``Pull.done``), in a transaction of its
    own: drop the changes of those tables that every registered reader has taken in.

    Not in the reader's transaction: on a DuckLake, a transaction that deletes rows of
    ``table_changes`` conflicts with any other process's commit that inserted into it (another
    run's dumps). It is housekeeping only (readers never look below their progress), so when
    it is refused the rows stay, for the next reader's commit to drop."""
    if not has_temporary_table(con, "taken_in_tables"):
        return
    try:
        con.execute("""
            delete from table_changes using (
                select table_name, min(version) as version from reader_progress
                where table_name in (select table_name from taken_in_tables) group by table_name
            ) as taken_in
            where table_changes.table_name = taken_in.table_name and table_changes.version <= taken_in.version
        """)
    except duckdb.TransactionException as error:
        if not is_write_conflict(error):
            raise
    con.execute("drop table taken_in_tables")


def first_free_version(con: duckdb.DuckDBPyConnection) -> int:
    """The next version no committed write has, read by ``con`` (a connection outside the writing
    transaction on a DuckLake, under its commit lock, to see every commit)."""
    return con.execute("select coalesce(max(version), 0) + 1 from warehouse_writes").fetchone()[0]


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
        """Move the reader's progress up to ``upto`` (in the reader's transaction). Once that
        commits, the changes every registered reader of those tables has taken in are dropped
        (``drop_taken_in``, called by ``writes.transaction``)."""
        tables = list(self.tables)
        con.execute("delete from reader_progress where reader = ? and table_name in (select unnest(?::varchar[]))",
                    [self.reader, tables])
        con.execute("insert into reader_progress select ?, unnest(?::varchar[]), ?", [self.reader, tables, self.upto])
        con.execute("create temp table if not exists taken_in_tables (table_name varchar)")
        con.execute("insert into taken_in_tables select unnest(?::varchar[])", [tables])

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
