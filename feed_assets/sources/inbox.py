"""The dated inbox: files dropped into ``<inbox>/YYYY-MM-DD/`` are that day's dumps.

Only what is inside the inbox is read: a file (or day folder) that is a symlink resolving
outside the inbox folder is refused with an InboxFileError naming it, and its target is
never opened. Folders not named exactly ``YYYY-MM-DD`` (``20250402``, ``misc``) are not
days: ``scan_inbox`` lists them so that the caller can say they were skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from feed_assets.parsing import UnknownFormatError
from feed_assets.parsing.normalize import printable

IGNORED_SUFFIXES = (".tmp", ".part", ".partial", "~")
_DAY_FOLDER = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class InboxFileError(UnknownFormatError):
    """An inbox file that must not be read (a symlink out of the inbox); the message names it.

    A subclass of UnknownFormatError so that whatever reports a day whose file is in no known
    format (the ingestion asset does, per day) reports this too, and nothing of the day is stored.
    """


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
    """Every dump file of the day with its bytes; ``origin`` is the path below the inbox.

    Raises InboxFileError, before reading anything, if a file resolves outside the inbox.
    """
    root = Path(inbox_dir).resolve()
    paths = list_day_files(inbox_dir, feed_date)
    for path in paths:
        target = path.resolve()
        if not target.is_relative_to(root):
            raise InboxFileError(
                f"{printable(feed_date.isoformat() + '/' + path.name)}: refused, it resolves outside the inbox "
                f"(to {printable(str(target))}); copy the file into the inbox instead of linking to it")
    return [DumpFile(feed_date, f"{feed_date.isoformat()}/{path.name}", path.read_bytes()) for path in paths]


@dataclass(frozen=True)
class InboxScan:
    """The inbox's day folders, in order, and the folders skipped because they are not named YYYY-MM-DD."""

    days: list[dt.date] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def scan_inbox(inbox_dir: Path) -> InboxScan:
    """The days that have a folder named exactly ``YYYY-MM-DD`` (a real date), and the names of
    the other folders (``20250402``, ``2025-02-30``, ``misc``), which are not read."""
    days, skipped = [], []
    for folder in Path(inbox_dir).glob("*"):
        if not folder.is_dir():
            continue
        try:
            if not _DAY_FOLDER.match(folder.name):
                raise ValueError(folder.name)
            days.append(dt.date.fromisoformat(folder.name))
        except ValueError:
            skipped.append(printable(folder.name))
    return InboxScan(sorted(days), sorted(skipped))


def inbox_days(inbox_dir: Path) -> list[dt.date]:
    """The days that have a folder in the inbox, in order (see scan_inbox for the folders skipped)."""
    return scan_inbox(inbox_dir).days
