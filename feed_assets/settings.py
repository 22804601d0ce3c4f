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


def start_date() -> str:
    """``$FEED_START_DATE`` (YYYY-MM-DD): the first daily partition."""
    value = os.environ.get("FEED_START_DATE", DEFAULT_START_DATE)
    dt.date.fromisoformat(value)  # fail at load time, with the value in the message, if malformed
    return value
