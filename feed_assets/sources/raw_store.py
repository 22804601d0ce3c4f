"""A content-addressed store for the raw bytes of every dump, kept forever.

Bytes live at ``<root>/<sha256[:2]>/<sha256>``; writing is atomic (a temp file in the
same folder, then a hard link to the final name), so a reader never sees a partial file and
storing the same bytes twice is a no-op, even when two threads store them at once (``raw_dumps``
collects several days at a time, and days can hold the same file): the link of the second
fails as the file exists, so the first file, and its time, stay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredBytes:
    """Where a dump's bytes are kept, and since when."""

    sha256: str
    path: Path
    size_bytes: int
    stored_at: dt.datetime


class RawStore:
    """Content-addressed raw bytes under one folder."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """The file that holds (or will hold) the bytes with this hash."""
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> StoredBytes:
        """Store ``data`` unless the same bytes are already stored; never overwrites."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha256)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{sha256[:8]}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as tmp:
                    tmp.write(data)
                    tmp.flush()
                    os.fsync(tmp.fileno())
                try:
                    os.link(tmp_name, path)  # never replaces: another thread may have stored them meanwhile
                except FileExistsError:
                    pass
            finally:
                Path(tmp_name).unlink(missing_ok=True)
        stored_at = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc).replace(tzinfo=None)
        return StoredBytes(sha256, path, len(data), stored_at)

    def get(self, sha256: str) -> bytes:
        """The stored bytes; raises FileNotFoundError naming the missing file."""
        path = self.path_for(sha256)
        if not path.exists():
            raise FileNotFoundError(f"raw store has no bytes for sha256 {sha256} (expected at {path})")
        return path.read_bytes()
