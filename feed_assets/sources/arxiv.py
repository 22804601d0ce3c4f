"""The arXiv API (Atom, docs/FEED_FORMATS.md section 6): the papers of a day in chosen categories.

One query per day: ``(cat:A OR cat:B ...) AND submittedDate:[YYYYMMDD0000 TO YYYYMMDD2359]``
sorted by submission date, paged by ``start``/``max_results`` until the feed's
``opensearch:totalResults`` is reached or a page comes back short. arXiv asks clients to
wait 3 seconds between calls: ``min_interval_seconds`` spaces every call of a run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from xml.etree.ElementTree import ParseError

from feed_assets.parsing.arxiv_atom import ATOM, OPENSEARCH, read_total
from feed_assets.sources.http import FetchedResponse, FetchError, HttpFetcher

SOURCE = "arxiv"
DEFAULT_CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML")


class Pacer:
    """Keeps at least ``min_interval`` seconds between the starts of consecutive calls."""

    def __init__(self, min_interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.min_interval = min_interval
        self._clock, self._sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        """Sleep until ``min_interval`` has passed since the previous call's start."""
        if self._last is not None:
            remaining = self.min_interval - (self._clock() - self._last)
            if remaining > 0:
                self._sleep(remaining)
        self._last = self._clock()


@dataclass
class ArxivApi:
    """Where the API is, which categories to ask for, how to page and pace it."""

    base_url: str = "http://export.arxiv.org"
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    page_size: int = 200
    max_pages: int = 50
    min_interval_seconds: float = 3.0
    pacer: Pacer = field(init=False)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.min_interval_seconds)

    def search_query(self, day: dt.date) -> str:
        cats = " OR ".join(f"cat:{category}" for category in self.categories)
        stamp = day.strftime("%Y%m%d")
        return f"({cats}) AND submittedDate:[{stamp}0000 TO {stamp}2359]"

    def day_pages(self, fetcher: HttpFetcher, day: dt.date) -> Iterator[FetchedResponse]:
        """Every page of the day's results, each validated; raises FetchError at the first bad one."""
        url = f"{self.base_url.rstrip('/')}/api/query"
        start = 0
        for _ in range(self.max_pages):
            self.pacer.wait()
            response = fetcher.get(url, params={
                "search_query": self.search_query(day), "sortBy": "submittedDate", "sortOrder": "ascending",
                "start": start, "max_results": self.page_size})
            entries, total = validate_page(response)
            yield response
            start += entries
            if entries < self.page_size or (total is not None and start >= total):
                return
        raise FetchError(url, f"more than {self.max_pages} pages of {self.page_size} for {day}: refusing to go on")


def validate_page(response: FetchedResponse) -> tuple[int, int | None]:
    """(entries on the page, total results) if the body is a safe Atom feed; FetchError otherwise."""
    content_type = response.headers.get("content-type", "").lower()
    if "xml" not in content_type:
        raise FetchError(response.url, f"expected an Atom feed, got content type {content_type or '(none)'!r}",
                         response)
    try:
        root = fromstring(response.body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise FetchError(response.url, f"unsafe XML refused ({error!r})", response) from error
    except ParseError as error:
        raise FetchError(response.url, f"XML is not well-formed or is truncated ({error})", response) from error
    if root.tag != f"{ATOM}feed":
        raise FetchError(response.url, f"expected an Atom <feed>, got <{root.tag}>", response)
    return len(root.findall(f"{ATOM}entry")), read_total(root.findtext(f"{OPENSEARCH}totalResults"))
