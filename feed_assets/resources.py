"""Resources: where the feed's files live, the live feeds over HTTP, and the DuckDB warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from feed_assets import settings
from feed_assets.sources.arxiv import DEFAULT_CATEGORIES, ArxivApi
from feed_assets.sources.http import HttpFetcher, RetryPolicy
from feed_assets.sources.huggingface import HuggingFaceDailyPapers
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


class HttpSettings(dg.ConfigurableResource):
    """Timeouts, retry bounds and size limit shared by the HTTP sources."""

    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 60.0
    max_attempts: int = 5
    max_retry_seconds: float = 120.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    max_body_bytes: int = 50 * 2**20

    def fetcher(self) -> HttpFetcher:
        """A fresh client with these settings (close it, or use it in a ``with``)."""
        return HttpFetcher(
            connect_timeout=self.connect_timeout_seconds, read_timeout=self.read_timeout_seconds,
            max_body_bytes=self.max_body_bytes,
            retry=RetryPolicy(attempts=self.max_attempts, total_seconds=self.max_retry_seconds,
                              wait_initial=self.backoff_initial_seconds, wait_max=self.backoff_max_seconds,
                              max_retry_after=self.max_retry_seconds),
        )


class HuggingFaceSource(HttpSettings):
    """The Hugging Face daily papers API."""

    base_url: str = settings.DEFAULT_HF_API_BASE_URL
    page_size: int = 100

    def api(self) -> HuggingFaceDailyPapers:
        return HuggingFaceDailyPapers(base_url=self.base_url, page_size=self.page_size)


class ArxivSource(HttpSettings):
    """The arXiv API, for a list of categories, paced as arXiv asks."""

    base_url: str = settings.DEFAULT_ARXIV_API_BASE_URL
    categories: list[str] = list(DEFAULT_CATEGORIES)
    page_size: int = 200
    min_interval_seconds: float = 3.0

    def api(self) -> ArxivApi:
        return ArxivApi(base_url=self.base_url, categories=tuple(self.categories), page_size=self.page_size,
                        min_interval_seconds=self.min_interval_seconds)


class FeedSources(dg.ConfigurableResource):
    """Which sources a run collects from (``inbox``, ``hf``, ``arxiv``), and the live ones' settings."""

    enabled: list[str]
    huggingface: HuggingFaceSource
    arxiv: ArxivSource


@contextmanager
def warehouse_connection(warehouse: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse with every table in place (its folder is created if needed)."""
    Path(warehouse.database).parent.mkdir(parents=True, exist_ok=True)
    with warehouse.get_connection() as con:
        yield prepare(con)


def build_resources(data_dir: Path | None = None, sources: FeedSources | None = None,
                    ) -> dict[str, dg.ConfigurableResource]:
    """The project's resources for a data folder and sources (default: from the environment)."""
    folder = Path(data_dir) if data_dir else settings.data_dir()
    return {
        "storage": FeedStorage(data_dir=str(folder)),
        "warehouse": DuckDBResource(database=str(folder / WAREHOUSE_FILE)),
        "sources": sources or sources_from_environment(),
    }


def sources_from_environment() -> FeedSources:
    """``FEED_SOURCES``, ``HF_API_BASE_URL``, ``ARXIV_API_BASE_URL`` and ``ARXIV_CATEGORIES``, with defaults."""
    return FeedSources(
        enabled=settings.feed_sources(),
        huggingface=HuggingFaceSource(base_url=settings.hf_api_base_url()),
        arxiv=ArxivSource(base_url=settings.arxiv_api_base_url(),
                          categories=settings.arxiv_categories() or list(DEFAULT_CATEGORIES)),
    )
