"""The Hugging Face daily papers API (docs/FEED_FORMATS.md section 4), one day at a time, page by page.

``GET {base_url}/api/daily_papers?date=YYYY-MM-DD&p=N&limit=L``; a page shorter than
``limit`` is the last. Weekends and holidays are legitimately empty (``[]``). Each page is
checked for what the API promises (JSON, a JSON array, under the size limit) before it is
accepted; the items themselves are judged later by the parser, one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from feed_assets.parsing.safe_json import JsonProblem, load_json
from feed_assets.sources.http import FetchedResponse, FetchError, HttpFetcher

SOURCE = "huggingface"


@dataclass(frozen=True)
class HuggingFaceDailyPapers:
    """Where the API is and how to page it."""

    base_url: str = "https://b-61j.pages.dev"
    page_size: int = 100
    max_pages: int = 20

    def day_pages(self, fetcher: HttpFetcher, day: dt.date) -> Iterator[FetchedResponse]:
        """Every page of the day's list, each validated; raises FetchError at the first bad one."""
        url = f"{self.base_url.rstrip('/')}/api/daily_papers"
        for page in range(self.max_pages):
            response = fetcher.get(url, params={"date": day.isoformat(), "p": page, "limit": self.page_size})
            items = validate_page(response)
            yield response
            if len(items) < self.page_size:
                return
        raise FetchError(url, f"more than {self.max_pages} pages of {self.page_size} for {day}: refusing to go on")


def validate_page(response: FetchedResponse) -> list:
    """The page's items if the body is what the API promises; FetchError saying what is wrong otherwise."""
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type.lower():
        raise FetchError(response.url, f"expected JSON, got content type {content_type or '(none)'!r} "
                                       f"(body starts {_start(response.body)!r})", response)
    try:
        items = load_json(response.body)
    except JsonProblem as error:
        raise FetchError(response.url, f"invalid or truncated JSON ({error})", response) from error
    if not isinstance(items, list):
        raise FetchError(response.url, f"expected a JSON array, got {type(items).__name__} "
                                       f"(body starts {_start(response.body)!r})", response)
    return items


def _start(body: bytes) -> str:
    return body[:80].decode("utf-8", errors="replace")
