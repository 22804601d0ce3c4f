"""The dated inbox: files dropped into ``<inbox>/YYYY-MM-DD/`` are that day's dumps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

IGNORED_SUFFIXES = (".tmp", ".part", ".partial", "~")


@dataclass(frozen=True)
class DumpFile:
    """One dump as it arrived: the day, a name that says where it came from, and its bytes."""

    feed_date: dt.date
    origin: str
    data: bytes


def day_folder(inbox_dir: Path, feed_date: dt.date) -> Path:
    """The inbox folder for a day."""
    return Path(inbox_dir) / feed_date.isoformat()


def list_day_files(inbox_dir: Path, feed_date: dt.date) -> list[Path]:
    """The day's dump files, sorted by name; hidden and half-copied files are left out."""
    folder = day_folder(inbox_dir, feed_date)
    if not folder.is_dir():
        return []
    return sorted(
        path for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(IGNORED_SUFFIXES)
    )


def read_day(inbox_dir: Path, feed_date: dt.date) -> list[DumpFile]:
    """Every dump file of the day with its bytes; ``origin`` is the path below the inbox."""
    return [
        DumpFile(feed_date, f"{feed_date.isoformat()}/{path.name}", path.read_bytes())
        for path in list_day_files(inbox_dir, feed_date)
    ]


def inbox_days(inbox_dir: Path) -> list[dt.date]:
    """The days that have a folder in the inbox, in order (folders not named as a date are ignored)."""
    days = []
    for folder in Path(inbox_dir).glob("*"):
        try:
            if folder.is_dir():
                days.append(dt.date.fromisoformat(folder.name))
        except ValueError:
            continue
    return sorted(days)
