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
    return _date_setting("FEED_START_DATE", value).isoformat()


OPEN_END = "today"


def end_date(folder: Path | None = None, sources: list[str] | None = None) -> str | None:
    """``$FEED_END_DATE`` (YYYY-MM-DD, or ``today``): the last daily partition; None when the
    partitions run to today (their last is the last whole day, yesterday in UTC, and a partition
    is added each day, which the daily schedule needs).

    Unset, it follows the sources (``sources``, default ``$FEED_SOURCES``): with the inbox alone
    (the default), the last day that has data in the data folder (``folder``, default
    ``data_dir()``): the latest inbox day folder or day of stored dumps, so no partition stands
    for a day that can have no data; with a live source (``hf``, ``arxiv``), or with no data at
    all, None. Never before ``start_date()``. Read when ``feed_assets`` is imported, like the
    start: a later day, added afterwards, becomes a partition when the code is loaded again."""
    folder = folder if folder is not None else data_dir()
    first = dt.date.fromisoformat(start_date(folder))
    value = os.environ.get("FEED_END_DATE")
    if value:
        if value.strip().lower() == OPEN_END:
            return None
        last = _date_setting("FEED_END_DATE", value)
        if last < first:
            raise ValueError(f"FEED_END_DATE={value!r} is before the first partition, {first} "
                             "(FEED_START_DATE, default the first day with data)")
        return last.isoformat()
    if set(sources if sources is not None else feed_sources()) - {"inbox"}:
        return None  # a live source: a new day every day
    last = last_data_day(folder)
    return max(last, first).isoformat() if last else None


def _date_setting(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{name}={value!r} is not a date (YYYY-MM-DD): {error}") from None


def data_days(folder: Path) -> list[dt.date]:
    """The days of ``folder/inbox/YYYY-MM-DD/`` folders and the first and last stored day of the
    dumps' published copy (``folder/published/raw_dumps/YYYY-MM.parquet``), sorted, each once.
    The warehouse (which a run may hold) is not opened: inbox folders are read by name, and the
    first and last month files by their footers' statistics (not their rows)."""
    days = {_day(path.name) for path in _entries(folder / "inbox") if path.is_dir()}
    months = sorted(path for path in _entries(folder / "published" / "raw_dumps")
                    if len(path.name) == len("YYYY-MM.parquet") and path.name.endswith(".parquet"))
    for ordered, pick in ((months, min), (months[::-1], max)):
        for path in ordered:  # the first (last) month with a row: an emptied month keeps an empty file
            span = _feed_date_span(path)
            if span is not None:
                days.add(pick(span))
                break
    return sorted(day for day in days if day is not None)


def first_data_day(folder: Path) -> dt.date | None:
    """The earliest of ``data_days(folder)``; None when there is none."""
    days = data_days(folder)
    return days[0] if days else None


def last_data_day(folder: Path) -> dt.date | None:
    """The latest of ``data_days(folder)``; None when there is none."""
    days = data_days(folder)
    return days[-1] if days else None


def _feed_date_span(path: Path) -> tuple[dt.date, dt.date] | None:
    """The smallest and largest ``feed_date`` a published Parquet file holds, from its footer's
    statistics; None for a file without rows (or one that is not what this project wrote)."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(path).metadata
        column = metadata.schema.to_arrow_schema().get_field_index("feed_date")
        stats = [metadata.row_group(i).column(column).statistics for i in range(metadata.num_row_groups)
                 if metadata.row_group(i).num_rows]
        stats = [stat for stat in stats if stat is not None and stat.has_min_max]
    except (OSError, ValueError, AttributeError):
        return None
    return (min(stat.min for stat in stats), max(stat.max for stat in stats)) if stats else None


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


def trend_scales() -> str:
    """``$TREND_SCALES``: the rising terms' time scales, ``name:window_days:baseline_days`` items
    joined by commas (default ``week:7:28,month:30:90,quarter:91:182``); checked here, so a
    bad value fails when the code loads, naming the variable."""
    from feed_assets.trends.significance import DEFAULT_SCALES, format_scales, parse_scales

    value = os.environ.get("TREND_SCALES", "").strip() or format_scales(DEFAULT_SCALES)
    try:
        return format_scales(parse_scales(value))
    except ValueError as error:
        raise ValueError(f"TREND_SCALES={value!r}: {error}") from None


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


def warehouse() -> str:
    """``$FEED_WAREHOUSE``: where the warehouse's tables are. Unset (or empty), the DuckDB file
    ``$FEED_DATA_DIR/feed.duckdb``; ``ducklake:postgres:<libpq connection string>``, a DuckLake
    whose catalog is in that PostgreSQL database (see ``warehouse/catalog.py``). Checked here,
    so a bad value fails when the code loads, naming the variable."""
    from feed_assets.warehouse.catalog import parse_warehouse

    value = os.environ.get("FEED_WAREHOUSE", "").strip()
    parse_warehouse(value, data_path="")  # raises ValueError naming the variable
    return value


def lake_data_path(folder: Path | None = None) -> str:
    """``$FEED_LAKE_DATA_PATH``: where a DuckLake warehouse writes its data files, a local folder
    or ``s3://bucket/prefix/``; default ``lake/`` in the data folder (``folder``, default
    ``data_dir()``). Not used with the DuckDB file."""
    value = os.environ.get("FEED_LAKE_DATA_PATH", "").strip()
    if not value:
        return str((folder if folder is not None else data_dir()) / "lake") + "/"
    if "://" in value:
        return value if value.endswith("/") else value + "/"
    return str(Path(value).expanduser().resolve()) + "/"
