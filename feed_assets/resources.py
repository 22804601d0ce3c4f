"""Resources: where the feed's files live, and the DuckDB warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from feed_assets import settings
from feed_assets.sources.raw_store import RawStore
from feed_assets.warehouse.connection import prepare

WAREHOUSE_FILE = "feed.duckdb"


class FeedStorage(dg.ConfigurableResource):
    """The feed's folder: ``inbox/YYYY-MM-DD/`` for dropped-in dumps, ``raw/`` for kept bytes."""

    data_dir: str

    @property
    def inbox_dir(self) -> Path:
        return Path(self.data_dir) / "inbox"

    @property
    def raw_store(self) -> RawStore:
        return RawStore(Path(self.data_dir) / "raw")


@contextmanager
def warehouse_connection(warehouse: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse with every table in place."""
    with warehouse.get_connection() as con:
        yield prepare(con)


def build_resources(data_dir: Path | None = None) -> dict[str, dg.ConfigurableResource]:
    """The project's resources for a data folder (default: ``settings.data_dir()``)."""
    folder = Path(data_dir) if data_dir else settings.data_dir()
    return {
        "storage": FeedStorage(data_dir=str(folder)),
        "warehouse": DuckDBResource(database=str(folder / WAREHOUSE_FILE)),
    }
