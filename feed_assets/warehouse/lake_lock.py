"""The locks of a DuckLake's writers, PostgreSQL advisory locks of its catalog's database.

DuckLake itself lets any number of processes commit (PostgreSQL orders the snapshots), and
the warehouse lets them as far as its own bookkeeping allows:

- **The writer lock** (``LakeWriterLock``): one process at a time updates the tables that are
  not per day (``papers``, what is derived from it, the parsed entries that resolve identity
  across days), as DuckDB's file lock gives on the file. A process takes it with its first
  such write and holds it for as long as its warehouse connection is open (a run: to its
  end); a second one waits for it, within ``FEED_LOCK_TIMEOUT_SECONDS``, then fails naming
  the holder. The day-partitioned ``raw_dumps`` does not take it: runs for different days
  write their dumps at the same time.
- **The commit lock** (``commit_lock``): every write transaction, of any process, gives its
  writes their versions and commits while holding it, for that commit only
  (``warehouse.changes``: versions follow the order of the commits, which readers rely on);
  a process opening the lake holds it while it makes any missing table.

Readers take no lock: they attach the lake read-only and see committed snapshots at any time.
Each lock belongs to a PostgreSQL session of its own (psycopg2, which dagster-postgres brings),
so it is released when the process ends, however it ends (a SIGKILL included): PostgreSQL drops
a session's advisory locks with the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.errors
import stamina

# the lock's key, the same for every process writing any lake of this project in that database
LOCK_KEY = int.from_bytes(b"feedlake", "big") & (2**63 - 1)
APPLICATION_NAME = "feed-assets writer"
# the commit lock's key
COMMIT_KEY = int.from_bytes(b"feedcmit", "big") & (2**63 - 1)


class LakeBusy(Exception):
    """Another process holds one of the lake's locks (the message says which)."""


class LakeWriterLock:
    """The advisory lock of a lake whose catalog is the PostgreSQL database of ``dsn`` (libpq)."""

    def __init__(self, dsn: str):
        self._dsn = dsn
        self._session = None

    def acquire(self, timeout_seconds: float) -> None:
        """Take the lock, waiting up to ``timeout_seconds`` (retrying with backoff); raises
        ``LakeBusy`` naming the holder when it was not released in time."""
        self._session = psycopg2.connect(self._dsn, application_name=APPLICATION_NAME)
        self._session.autocommit = True
        try:
            for attempt in stamina.retry_context(on=LakeBusy, attempts=None, timeout=timeout_seconds,
                                                 wait_max=2.0):
                with attempt:
                    self._try()
        except BaseException:
            self.release()
            raise

    def _try(self) -> None:
        with self._session.cursor() as cursor:
            cursor.execute("select pg_try_advisory_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                raise LakeBusy(self.holder())

    def holder(self) -> str:
        """Who holds the lock: PostgreSQL's process id, client address and start of the session."""
        with self._session.cursor() as cursor:
            cursor.execute("""
                select a.pid, coalesce(host(a.client_addr), 'a local socket'), a.application_name,
                       a.backend_start
                from pg_locks l join pg_stat_activity a using (pid)
                where l.locktype = 'advisory' and l.granted
                  and ((l.classid::bigint << 32) | l.objid::bigint) = %s
            """, [LOCK_KEY])
            found = cursor.fetchone()
        if found is None:
            return "the lake's writer lock is held by a session that has just ended"
        pid, client, application, started = found
        return (f"the lake's writer lock is held by PostgreSQL session {pid} ({application or 'no application name'}, "
                f"from {client}, since {started:%Y-%m-%d %H:%M:%S %Z})")

    def release(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            session.close()  # PostgreSQL releases the session's advisory locks with it


@contextmanager
def commit_lock(dsn: str, timeout_seconds: float) -> Iterator[None]:
    """Hold the lake's commit lock for the block, waiting up to ``timeout_seconds`` for it (in
    PostgreSQL, no polling); raises ``LakeBusy`` when it was not released in time."""
    session = psycopg2.connect(dsn, application_name="feed-assets commit")
    session.autocommit = True
    try:
        with session.cursor() as cursor:
            cursor.execute(f"set lock_timeout = {max(1, int(timeout_seconds * 1000))}")
            try:
                cursor.execute("select pg_advisory_lock(%s)", [COMMIT_KEY])
            except psycopg2.errors.LockNotAvailable as error:
                raise LakeBusy(f"the lake's commit lock was held for over {timeout_seconds:g} s") from error
        yield
    finally:
        session.close()  # releases the lock
