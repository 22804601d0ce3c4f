"""A month of the real Hugging Face API responses (../shared/data), replayed by a server on
127.0.0.1, backfilled in one run through the HF source; skipped where ../shared is absent."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from werkzeug import Request, Response

from feed_assets_tests.conftest import SHARED_DIR, Feed
from feed_assets_tests.test_http_sources import api_requests, hf_sources

HF_DIR = SHARED_DIR / "data" / "hf-daily-papers"
pytestmark = pytest.mark.skipif(not HF_DIR.is_dir(), reason=f"real feed data not found at {HF_DIR}")

MONTH_START, MONTH_END = dt.date(2024, 6, 1), dt.date(2024, 6, 30)


def real_day(day: dt.date) -> list:
    path = HF_DIR / f"{day.isoformat()}.json"
    return json.loads(path.read_text()) if path.exists() else []


def replay(request: Request) -> Response:
    """The API as it answered: the saved response of the day, paged; [] for days not saved."""
    items = real_day(dt.date.fromisoformat(request.args["date"]))
    page, limit = int(request.args.get("p", 0)), int(request.args.get("limit", 50))
    return Response(json.dumps(items[page * limit:(page + 1) * limit]), content_type="application/json")


def test_a_month_backfill_through_the_api_loads_exactly_the_papers_served(httpserver, tmp_path, instance):
    httpserver.expect_request("/api/daily_papers").respond_with_handler(replay)
    feed = Feed(tmp_path / "data", instance, hf_sources(httpserver, page_size=20))
    assert feed.materialize(MONTH_START, MONTH_END).success
    assert len(feed.instance.get_runs()) == 1

    served = set()
    day = MONTH_START
    while day <= MONTH_END:
        served |= {f"arxiv:{item['paper']['id']}" for item in real_day(day) if isinstance(item, dict)}
        day += dt.timedelta(days=1)
    assert len(served) > 100
    assert {row[0] for row in feed.query("select paper_id from papers")} == served
    assert feed.query("select count(distinct feed_date) from raw_dumps") == [(30,)]

    requests_after_first_run = len(api_requests(httpserver))
    before = feed.snapshot()
    assert feed.materialize(MONTH_START, MONTH_END).success
    assert len(api_requests(httpserver)) == requests_after_first_run
    assert feed.snapshot() == before
