"""One writing process at a time on a DuckLake, as DuckDB's file lock gives on the file.

DuckLake itself lets any number of processes commit (PostgreSQL orders the snapshots), but
the warehouse's own bookkeeping is not made for two writers at once: each write takes the
next version of ``warehouse_writes`` (two writers would take the same), and readers move
their progress by deleting and inserting rows that a second writer could be changing. So a
process that writes the lake holds a PostgreSQL advisory lock on the catalog's database for
as long as its warehouse connection is open (a run: from its first step that writes to its
end), and a second one waits for it, within ``FEED_LOCK_TIMEOUT_SECONDS``, then fails
naming the holder, exactly as on the file. Readers take no lock: they attach the lake
read-only and see committed snapshots at any time.

The lock belongs to a PostgreSQL session of its own (psycopg2, which dagster-postgres
brings), so it is released when the process ends, however it ends (a SIGKILL included):
PostgreSQL drops a session's advisory locks with the session.
"""

from __future__ import annotations

import psycopg2
import stamina

# the lock's key, the same for every process writing any lake of this project in that database
LOCK_KEY = int.from_bytes(b"feedlake", "big") & (2**63 - 1)
APPLICATION_NAME = "feed-assets writer"


class LakeBusy(Exception):
    """Another process holds the lake's writer lock (the message says which)."""


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
