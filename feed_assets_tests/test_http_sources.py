"""The live feeds over real HTTP, against a server on 127.0.0.1 (pytest-httpserver): paging,
retries, bad bodies, safe XML, re-use of stored responses, and dedup with the inbox."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from feed_assets.resources import ArxivSource, FeedSources, HuggingFaceSource
from feed_assets.sources.arxiv import Pacer
from feed_assets.sources.http import FetchError, HttpFetcher, RetryPolicy
from feed_assets_tests.conftest import Feed, days_not_loaded

DAY = dt.date(2024, 3, 4)
FAST_RETRIES = {"max_attempts": 3, "max_retry_seconds": 10.0, "backoff_initial_seconds": 0.01,
                "backoff_max_seconds": 0.05, "read_timeout_seconds": 2.0, "connect_timeout_seconds": 2.0}


def hf_item(arxiv_id: str, title: str, upvotes: int = 1) -> dict:
    return {"paper": {"id": arxiv_id, "authors": [{"_id": "a", "name": "Ada Lovelace", "hidden": False}],
                      "publishedAt": "2024-03-01T10:00:00.000Z", "title": title,
                      "summary": f"Abstract of {title}.", "upvotes": upvotes},
            "publishedAt": "2024-03-02T10:00:00.000Z", "title": title, "numComments": 0}


def hf_api(days: dict[dt.date, list]) -> Callable[[Request], Response]:
    """A handler that serves ``/api/daily_papers`` from ``days``, with the API's paging."""
    def handler(request: Request) -> Response:
        items = days.get(dt.date.fromisoformat(request.args["date"]), [])
        page, limit = int(request.args.get("p", 0)), int(request.args.get("limit", 50))
        return Response(json.dumps(items[page * limit:(page + 1) * limit]), content_type="application/json")
    return handler


def hf_sources(server: HTTPServer, page_size: int = 100, enabled=("hf",), **http) -> FeedSources:
    return FeedSources(enabled=list(enabled),
                       huggingface=HuggingFaceSource(base_url=server.url_for(""), page_size=page_size,
                                                     **{**FAST_RETRIES, **http}),
                       arxiv=ArxivSource(base_url=server.url_for(""), min_interval_seconds=0.0, **FAST_RETRIES))


def api_requests(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log if request.path.startswith("/api/")]


@pytest.fixture
def hf_feed(tmp_path, instance):
    def make(server: HTTPServer, **kwargs) -> Feed:
        return Feed(tmp_path / "data", instance, hf_sources(server, **kwargs))
    return make


def test_pages_are_fetched_until_a_short_one_and_each_is_a_kept_dump(httpserver, hf_feed):
    items = [hf_item(f"2403.0000{i}", f"Paper {i}") for i in range(5)]
    httpserver.expect_request("/api/daily_papers").respond_with_handler(hf_api({DAY: items}))
    feed = hf_feed(httpserver, page_size=2)
    assert feed.materialize(DAY).success
    pages = [int(r.args["p"]) for r in api_requests(httpserver)]
    assert pages == [0, 1, 2]
    assert all(r.headers["User-Agent"].startswith("feed-assets/") for r in api_requests(httpserver))
    assert feed.query("select count(*), count(distinct sha256) from raw_dumps where channel = 'http'") == [(3, 3)]
    assert feed.query("select count(*) from papers") == [(5,)]
    assert feed.query("select count(*) from fetch_log where outcome = 'ok' and status = 200") == [(3,)]


def test_an_empty_weekend_is_a_fetched_day_with_no_entries(httpserver, hf_feed):
    httpserver.expect_request("/api/daily_papers").respond_with_handler(hf_api({}))
    feed = hf_feed(httpserver)
    saturday = dt.date(2024, 3, 2)
    assert feed.materialize(saturday).success
    assert feed.query("select source, dumps, entries from daily_feed_stats") == [("huggingface", 1, 0)]


def test_a_second_run_reuses_the_stored_responses_and_refetch_asks_again(httpserver, hf_feed):
    days = {DAY: [hf_item("2403.00001", "First", upvotes=3)]}
    httpserver.expect_request("/api/daily_papers").respond_with_handler(hf_api(days))
    feed = hf_feed(httpserver)
    feed.materialize(DAY)
    before = feed.snapshot()
    feed.materialize(DAY)
    assert len(api_requests(httpserver)) == 1
    assert feed.snapshot() == before

    days[DAY] = [hf_item("2403.00001", "First", upvotes=9)]
    old_sha = feed.query("select sha256 from raw_dumps")[0][0]
    feed.materialize(DAY, refetch=True)
    assert len(api_requests(httpserver)) == 2
    new_sha = feed.query("select sha256 from raw_dumps")[0][0]
    assert new_sha != old_sha
    assert (feed.data_dir / "raw" / old_sha[:2] / old_sha).exists()
    assert feed.query("select upvotes from paper_appearances") == [(9,)]


def test_429_with_retry_after_then_success(httpserver):
    httpserver.expect_ordered_request("/x").respond_with_response(Response("slow down", 429, {"Retry-After": "1"}))
    httpserver.expect_ordered_request("/x").respond_with_json([])
    with HttpFetcher(retry=RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05)) as fetcher:
        began = time.monotonic()
        response = fetcher.get(httpserver.url_for("/x"))
        waited = time.monotonic() - began
    assert (response.status, response.attempts) == (200, 2)
    assert waited >= 1.0  # the server's Retry-After, not the 0.05 s backoff, set the wait


def test_500_then_success(httpserver):
    httpserver.expect_ordered_request("/x").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/x").respond_with_data("[1]", content_type="application/json")
    with HttpFetcher(retry=RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05)) as fetcher:
        response = fetcher.get(httpserver.url_for("/x"))
    assert (response.status, response.body, response.attempts) == (200, b"[1]", 2)


def test_a_timeout_is_retried():
    calls = []

    def slow_once(request: Request) -> Response:
        calls.append(request)
        if len(calls) == 1:
            time.sleep(2.0)
        return Response("[]", content_type="application/json")
    # a threaded server answers the retry while the first, slow call still sleeps
    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as server:
        server.expect_request("/x").respond_with_handler(slow_once)
        with HttpFetcher(read_timeout=0.5, retry=RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05)) as fetcher:
            response = fetcher.get(server.url_for("/x"))
    assert response.status == 200
    assert response.attempts == 2 and len(calls) == 2


def test_retries_are_bounded_and_other_4xx_are_not_retried(httpserver):
    httpserver.expect_request("/busy").respond_with_data("busy", status=503)
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    with HttpFetcher(retry=RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05)) as fetcher:
        with pytest.raises(FetchError, match=r"/busy: HTTP 503 after 3 attempt"):
            fetcher.get(httpserver.url_for("/busy"))
        with pytest.raises(FetchError, match=r"/gone: HTTP 404 \(not retried\)"):
            fetcher.get(httpserver.url_for("/gone"))
    paths = [request.path for request, _ in httpserver.log]
    assert paths.count("/busy") == 3 and paths.count("/gone") == 1


def test_a_connection_error_is_reported_with_the_url():
    with HttpFetcher(retry=RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.02)) as fetcher:
        with pytest.raises(FetchError, match=r"127\.0\.0\.1:9/x: connection failed after 2 attempt"):
            fetcher.get("http://127.0.0.1:9/x")


BAD_BODIES = {
    "html": (Response("<!DOCTYPE html><html>Service unavailable</html>", 200, content_type="text/html"),
             "expected JSON, got content type 'text/html"),
    "truncated": (Response('[{"paper": {"id": "2403.0', 200, content_type="application/json"),
                  "invalid or truncated JSON"),
    "not_array": (Response('{"error": "rate limited"}', 200, content_type="application/json"),
                  "expected a JSON array"),
    "oversize": (Response("[" + ",".join(["1"] * 5000) + "]", 200, content_type="application/json"),
                 "byte limit"),
}


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_a_bad_body_fails_its_day_by_url_keeps_the_bytes_and_other_days_load(httpserver, hf_feed, kind):
    bad_day, good_day = DAY, DAY + dt.timedelta(days=1)
    response, problem = BAD_BODIES[kind]
    good = hf_api({good_day: [hf_item("2403.00002", "Good")]})
    httpserver.expect_request("/api/daily_papers", query_string={"date": bad_day.isoformat(), "p": "0",
                                                                  "limit": "100"}).respond_with_response(response)
    httpserver.expect_request("/api/daily_papers").respond_with_handler(good)
    feed = hf_feed(httpserver, max_body_bytes=1000)

    result = feed.materialize(bad_day, good_day)
    message = days_not_loaded(result)
    assert f"{bad_day}: huggingface: http://" in message and "date=" + bad_day.isoformat() in message
    assert problem in message
    ((sha, outcome, logged_problem),) = feed.query(
        "select sha256, outcome, problem from fetch_log where feed_date = ?", [bad_day])
    assert outcome == "error" and problem in logged_problem
    assert (feed.data_dir / "raw" / sha[:2] / sha).read_bytes()[:20] == response.get_data()[:20]
    # the good day's response is stored, so the next run loads it without asking again
    assert feed.query("select feed_date from raw_dumps") == [(good_day,)]
    requests_before = len(api_requests(httpserver))
    feed.materialize(good_day)
    assert len(api_requests(httpserver)) == requests_before
    assert feed.query("select paper_id from papers") == [("arxiv:2403.00002",)]


def atom_feed(entries: list[tuple[str, str]], total: int) -> str:
    body = "".join(
        f"""<entry><id>http://arxiv.org/abs/{arxiv_id}v2</id><published>2024-03-04T17:00:00Z</published>
        <title>{title}</title><summary>Summary of
        {title}.</summary><author><name>Grace Hopper</name></author>
        <arxiv:primary_category term="cs.LG"/><category term="cs.LG"/><category term="stat.ML"/></entry>"""
        for arxiv_id, title in entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom">
<title>arXiv Query</title><opensearch:totalResults>{total}</opensearch:totalResults>{body}</feed>"""


def test_an_atom_feed_of_several_pages_is_paced_and_loaded(httpserver, tmp_path, instance, monkeypatch):
    papers = [(f"2403.1000{i}", f"Atom paper {i}") for i in range(5)]
    requests, released = [], []
    pacer_wait = Pacer.wait

    def wait(pacer: Pacer) -> None:
        pacer_wait(pacer)
        released.append(pacer._last)  # the moment the pacer let a page's request go
    monkeypatch.setattr(Pacer, "wait", wait)

    def handler(request: Request) -> Response:
        requests.append(request.args["start"])
        start, size = int(request.args["start"]), int(request.args["max_results"])
        assert "submittedDate:[202403040000 TO 202403042359]" in request.args["search_query"]
        return Response(atom_feed(papers[start:start + size], len(papers)), content_type="application/atom+xml")
    httpserver.expect_request("/api/query").respond_with_handler(handler)
    sources = FeedSources(enabled=["arxiv"], huggingface=HuggingFaceSource(),
                          arxiv=ArxivSource(base_url=httpserver.url_for(""), page_size=2, min_interval_seconds=0.2,
                                            categories=["cs.LG", "stat.ML"], **FAST_RETRIES))
    feed = Feed(tmp_path / "data", instance, sources)
    assert feed.materialize(DAY).success
    # each page's request went out once the pacer let it, 0.2 s after the one before at least:
    # timed on the client, as the server's clock adds the requests' varying delays on a busy
    # machine (seen from the server, two pages once came less than 0.19 s apart)
    assert requests == ["0", "2", "4"] and len(released) == 3
    assert all(round(later - earlier, 6) >= 0.2 for earlier, later in zip(released, released[1:]))
    rows = feed.query("select arxiv_id, categories, authors from paper_appearances order by arxiv_id")
    assert rows == [(arxiv_id, ["cs.LG", "stat.ML"], ["Grace Hopper"]) for arxiv_id, _ in papers]
    assert feed.query("select distinct format from raw_dumps") == [("arxiv_atom",)]


def test_the_pacer_spaces_calls_by_its_interval_and_no_more():
    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds
    pacer = Pacer(3.0, clock=lambda: now[0], sleep=sleep)
    pacer.wait()          # first call: no wait
    now[0] += 1.0
    pacer.wait()          # 1 s later: waits the 2 s left
    now[0] += 5.0
    pacer.wait()          # 5 s later: no wait
    assert slept == [2.0]


def test_xml_with_an_entity_expansion_attack_is_refused_and_kept(httpserver, tmp_path, instance):
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            '<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol3;</title></entry></feed>')
    httpserver.expect_request("/api/query").respond_with_data(bomb, content_type="application/atom+xml")
    sources = FeedSources(enabled=["arxiv"], huggingface=HuggingFaceSource(),
                          arxiv=ArxivSource(base_url=httpserver.url_for(""), min_interval_seconds=0.0, **FAST_RETRIES))
    feed = Feed(tmp_path / "data", instance, sources)
    result = feed.materialize(DAY)
    assert "unsafe XML refused" in days_not_loaded(result)
    ((problem, sha),) = feed.query("select problem, sha256 from fetch_log")
    assert "unsafe XML refused" in problem
    assert (feed.data_dir / "raw" / sha[:2] / sha).read_text() == bomb
    assert feed.query("select count(*) from paper_appearances") == [(0,)]


def test_a_fetched_day_and_the_same_papers_in_the_inbox_give_one_paper_each(httpserver, hf_feed):
    items = [hf_item("2403.00001", "Shared: one"), hf_item("2403.00002", "Shared (two)?")]
    httpserver.expect_request("/api/daily_papers").respond_with_handler(hf_api({DAY: items}))
    feed = hf_feed(httpserver, enabled=("inbox", "hf"))
    day_dir = feed.inbox / DAY.isoformat()
    day_dir.mkdir(parents=True)
    (day_dir / "copy.json").write_text(json.dumps(items, indent=2))  # the same papers, other bytes
    (day_dir / "page.txt").write_text(
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
        "Mar 4\n\nShared (two)?\n\nAbstract of Shared (two)?.\n")
    assert feed.materialize(DAY).success
    assert feed.query("select channel, count(*) from raw_dumps group by all order by all") == [
        ("http", 1), ("inbox", 2)]
    assert feed.query("select paper_id, n_appearances from papers order by paper_id") == [
        ("arxiv:2403.00001", 2), ("arxiv:2403.00002", 3)]
