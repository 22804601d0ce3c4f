"""Settings read from the environment, with defaults that work in a fresh clone."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_START_DATE = "2024-01-01"


def data_dir() -> Path:
    """``$FEED_DATA_DIR``, else the project's ``data/`` folder (or ``./data`` when installed elsewhere)."""
    configured = os.environ.get("FEED_DATA_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / "data"
    return Path.cwd() / "data"


def start_date(folder: Path | None = None) -> str:
    """``$FEED_START_DATE`` (YYYY-MM-DD): the first daily partition. Unset, the first day that has
    data in the data folder (``folder``, default ``data_dir()``): the earliest inbox day folder or
    day of stored dumps (their published files), so the partitions start where the data does;
    with no data at all, ``DEFAULT_START_DATE``. Read when ``feed_assets`` is imported: a day
    older than the first one, added later, becomes a partition when the code is loaded again."""
    value = os.environ.get("FEED_START_DATE")
    if not value:
        first = first_data_day(folder if folder is not None else data_dir())
        return first.isoformat() if first else DEFAULT_START_DATE
    try:
        dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"FEED_START_DATE={value!r} is not a date (YYYY-MM-DD): {error}") from None
    return value


def first_data_day(folder: Path) -> dt.date | None:
    """The earliest day of ``folder/inbox/YYYY-MM-DD/`` folders and of the stored dumps'
    published copy (``folder/published/raw_dumps/YYYY-MM.parquet``); None when there is none.
    The warehouse (which a run may hold) is not opened: inbox folders by name, and the first
    month file's statistics (its footer, not its rows)."""
    days = [_day(path.name) for path in _entries(folder / "inbox") if path.is_dir()]
    months = sorted(path for path in _entries(folder / "published" / "raw_dumps")
                    if len(path.name) == len("YYYY-MM.parquet") and path.name.endswith(".parquet"))
    for path in months:  # the first month with a row (an emptied month keeps an empty file)
        first = _first_feed_date(path)
        if first is not None:
            days.append(first)
            break
    days = [day for day in days if day is not None]
    return min(days) if days else None


def _first_feed_date(path: Path) -> dt.date | None:
    """The smallest ``feed_date`` a published Parquet file holds, from its footer's statistics."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(path).metadata
        column = metadata.schema.to_arrow_schema().get_field_index("feed_date")
        minima = [metadata.row_group(i).column(column).statistics.min for i in range(metadata.num_row_groups)
                  if metadata.row_group(i).num_rows and metadata.row_group(i).column(column).statistics]
    except (OSError, ValueError, AttributeError):  # unreadable or not what we wrote: not a day
        return None
    return min(minima) if minima else None


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:  # missing or unreadable: no days there
        return []


def _day(name: str) -> dt.date | None:
    if len(name) != 10:
        return None
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


KNOWN_SOURCES = ("inbox", "hf", "arxiv")
DEFAULT_HF_API_BASE_URL = "https://b-61j.pages.dev"
DEFAULT_ARXIV_API_BASE_URL = "http://export.arxiv.org"


def feed_sources() -> list[str]:
    """``$FEED_SOURCES``: the comma-separated sources to collect (``inbox``, ``hf``, ``arxiv``)."""
    names = [name.strip() for name in os.environ.get("FEED_SOURCES", "inbox").split(",") if name.strip()]
    unknown = sorted(set(names) - set(KNOWN_SOURCES))
    if unknown:
        raise ValueError(f"FEED_SOURCES: unknown source(s) {unknown}; known: {', '.join(KNOWN_SOURCES)}")
    return names


def hf_api_base_url() -> str:
    """``$HF_API_BASE_URL``: where the Hugging Face API is."""
    return os.environ.get("HF_API_BASE_URL", DEFAULT_HF_API_BASE_URL)


def arxiv_api_base_url() -> str:
    """``$ARXIV_API_BASE_URL``: where the arXiv API is."""
    return os.environ.get("ARXIV_API_BASE_URL", DEFAULT_ARXIV_API_BASE_URL)


def arxiv_categories() -> list[str] | None:
    """``$ARXIV_CATEGORIES``: comma-separated arXiv categories (None: the default list)."""
    value = os.environ.get("ARXIV_CATEGORIES")
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def trend_window_days() -> int:
    """``$TREND_WINDOW_DAYS``: the trailing window whose term use is compared (default 7)."""
    return _positive_int("TREND_WINDOW_DAYS", 7)


def trend_baseline_days() -> int:
    """``$TREND_BASELINE_DAYS``: the baseline before the window it is compared with (default 28)."""
    return _positive_int("TREND_BASELINE_DAYS", 28)


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}={value!r} is not a positive whole number")
    return int(value)


def schedule_hour() -> int:
    """``$FEED_SCHEDULE_HOUR``: the UTC hour at which the daily schedule runs yesterday (default 6)."""
    value = os.environ.get("FEED_SCHEDULE_HOUR", "6")
    if not value.isdigit() or int(value) > 23:
        raise ValueError(f"FEED_SCHEDULE_HOUR={value!r} is not an hour (0-23)")
    return int(value)


def lock_timeout_seconds() -> float:
    """``$FEED_LOCK_TIMEOUT_SECONDS``: how long a run waits for a warehouse another process holds (60)."""
    return float(_positive_int("FEED_LOCK_TIMEOUT_SECONDS", 60))
