"""Hostile or broken servers on 127.0.0.1: redirect loops, redirects to other hosts or to
file://, bodies that drip a byte at a time, days that never end, and the attempt count in
fetch_log."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from feed_assets.sources.collect import collect_http_day
from feed_assets.sources.http import FetchError, HttpFetcher, RetryPolicy
from feed_assets.sources.huggingface import HuggingFaceDailyPapers
from feed_assets.sources.raw_store import RawStore
from feed_assets_tests.test_http_sources import DAY, api_requests, hf_api, hf_feed, hf_item  # noqa: F401 (fixture)

FAST = RetryPolicy(attempts=3, total_seconds=10.0, wait_initial=0.01, wait_max=0.02)


def redirect(location: str, status: int = 302) -> Response:
    return Response("moved", status, {"Location": location})


def paths(server: HTTPServer) -> list[str]:
    return [request.path for request, _ in server.log]


# --- 3. redirects --------------------------------------------------------------------------

def test_a_same_host_redirect_is_followed_and_each_hop_is_kept(httpserver):
    httpserver.expect_request("/old").respond_with_response(redirect("/new", 301))
    httpserver.expect_request("/new").respond_with_json([1])
    with HttpFetcher(retry=FAST) as fetcher:
        response = fetcher.get(httpserver.url_for("/old"))
    assert (response.url, json.loads(response.body)) == (httpserver.url_for("/new"), [1])
    [hop] = response.redirects
    assert (hop.url, hop.status, hop.headers["location"]) == (httpserver.url_for("/old"), 301, "/new")


def test_a_redirect_loop_is_one_fetch_error_naming_the_urls_and_not_retried(httpserver):
    httpserver.expect_request("/a").respond_with_response(redirect("/b"))
    httpserver.expect_request("/b").respond_with_response(redirect("/a"))
    with HttpFetcher(retry=FAST) as fetcher, pytest.raises(FetchError) as raised:
        fetcher.get(httpserver.url_for("/a"))
    error = raised.value
    assert error.url == httpserver.url_for("/b")
    assert error.problem == f"redirect loop: {httpserver.url_for('/a')} -> {httpserver.url_for('/b')} -> " \
                            f"{httpserver.url_for('/a')}"
    assert [hop.url for hop in error.redirects] == [httpserver.url_for("/a")] and error.response.status == 302
    assert paths(httpserver) == ["/a", "/b"] and error.attempts == 1


def test_redirects_are_bounded(httpserver):
    for n in range(10):
        httpserver.expect_request(f"/r{n}").respond_with_response(redirect(f"/r{n + 1}"))
    with HttpFetcher(retry=FAST, max_redirects=3) as fetcher, pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.get(httpserver.url_for("/r0"))
    assert paths(httpserver) == ["/r0", "/r1", "/r2", "/r3"]


@pytest.mark.parametrize(("location", "problem"), [
    # the test server is http://localhost:{port}: 127.0.0.1 is the same machine, not the same host
    ("http://127.0.0.1:{port}/elsewhere", "redirect to another host refused: http://127.0.0.1:{port}/elsewhere"),
    ("https://localhost:{port}/tls", "redirect to another host refused: https://localhost:{port}/tls"),
    ("http://localhost:9/other-port", "redirect to another host refused: http://localhost:9/other-port"),
    ("file:///etc/passwd", "redirect to a non-HTTP URL file:///etc/passwd refused"),
])
def test_a_redirect_off_the_configured_host_is_refused_once(httpserver, location, problem):
    port = httpserver.port
    httpserver.expect_request("/x").respond_with_response(redirect(location.format(port=port)))
    httpserver.expect_request("/elsewhere").respond_with_json(["should not be fetched"])
    with HttpFetcher(retry=FAST) as fetcher, pytest.raises(FetchError) as raised:
        fetcher.get(httpserver.url_for("/x"))
    assert str(raised.value).startswith(f"{httpserver.url_for('/x')}: {problem.format(port=port)}")
    assert paths(httpserver) == ["/x"] and raised.value.attempts == 1


def test_a_redirect_loop_on_one_day_is_logged_and_the_next_day_is_still_fetched(httpserver, tmp_path):
    bad, good = DAY, DAY + dt.timedelta(days=1)
    httpserver.expect_request("/api/daily_papers", query_string={"date": bad.isoformat(), "p": "0", "limit": "100"}) \
        .respond_with_response(redirect("/loop"))
    httpserver.expect_request("/loop").respond_with_response(redirect("/loop"))
    httpserver.expect_request("/api/daily_papers").respond_with_json([hf_item("2403.00002", "Good")])
    api, store = HuggingFaceDailyPapers(base_url=httpserver.url_for("")), RawStore(tmp_path / "raw")
    with HttpFetcher(retry=FAST) as fetcher:
        failed = collect_http_day(store, tmp_path, fetcher, "huggingface", bad, api.day_pages)
        fetched = collect_http_day(store, tmp_path, fetcher, "huggingface", good, api.day_pages)
    assert failed.dumps == [] and "redirect loop" in str(failed.error)
    assert [(row["outcome"], row["status"], row["attempts"]) for row in failed.log] == [
        ("redirect", 302, 1), ("error", 302, 1)]
    assert failed.log[0]["problem"] == "HTTP 302 to /loop" and failed.log[0]["sha256"]
    assert failed.log[1]["url"] == httpserver.url_for("/loop") and "redirect loop" in failed.log[1]["problem"]
    assert fetched.error is None and len(fetched.dumps) == 1


# --- 5. the attempt count reaches fetch_log ---------------------------------------------------

def test_fetch_log_counts_the_attempts_of_a_request_that_never_got_an_answer(tmp_path):
    api = HuggingFaceDailyPapers(base_url="http://127.0.0.1:9")
    with HttpFetcher(retry=FAST) as fetcher:
        day = collect_http_day(RawStore(tmp_path / "raw"), tmp_path, fetcher, "huggingface", DAY, api.day_pages)
    [row] = day.log
    assert "connection failed after 3 attempt(s)" in row["problem"] and row["attempts"] == 3
    assert row["status"] is None and day.error.attempts == 3


def test_fetch_log_counts_the_attempts_of_a_request_that_kept_failing(httpserver, tmp_path):
    httpserver.expect_request("/api/daily_papers").respond_with_data("busy", status=503)
    api = HuggingFaceDailyPapers(base_url=httpserver.url_for(""))
    with HttpFetcher(retry=FAST) as fetcher:
        day = collect_http_day(RawStore(tmp_path / "raw"), tmp_path, fetcher, "huggingface", DAY, api.day_pages)
    [row] = day.log
    assert (row["status"], row["attempts"]) == (503, 3) and "after 3 attempt(s)" in row["problem"]
    assert len(api_requests(httpserver)) == 3


def test_a_url_scheme_httpx_cannot_speak_is_not_retried():
    with HttpFetcher(retry=FAST) as fetcher, pytest.raises(FetchError, match="after 1 attempt"):
        fetcher.get("file:///etc/passwd")


# --- 4. deadlines against a server that drips -------------------------------------------------

class DripServer:
    """A real threaded HTTP server on 127.0.0.1 that sends each body in ``pieces`` parts,
    ``interval`` seconds apart, with an honest Content-Length."""

    def __init__(self, body_for, pieces: int, interval: float):
        self.stop = threading.Event()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                body = body_for(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                size = -(-len(body) // pieces)
                try:
                    for start in range(0, len(body), size):
                        self.wfile.write(body[start:start + size])
                        self.wfile.flush()
                        if server.stop.wait(interval):
                            return
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def drip() -> Iterator:
    servers: list[DripServer] = []

    def start(body_for, pieces: int, interval: float) -> DripServer:
        servers.append(DripServer(body_for, pieces, interval))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


def test_a_body_dripping_slower_than_the_request_deadline_fails_with_the_url(drip):
    server = drip(lambda path: b"[" + b"1," * 200 + b"1]", pieces=100, interval=0.05)  # 5 s in all
    policy = RetryPolicy(attempts=3, total_seconds=0.6, wait_initial=0.01, wait_max=0.02)
    with HttpFetcher(read_timeout=2.0, retry=policy) as fetcher:
        began = time.monotonic()
        with pytest.raises(FetchError) as raised:
            fetcher.get(server.url("/slow"))
        took = time.monotonic() - began
    error = raised.value
    assert error.url == server.url("/slow") and error.attempts == 1
    assert error.problem.startswith("no complete answer within the 0.6 s allowed per request (")
    assert 0 < len(error.response.body) < 401  # what came is kept
    assert took < 0.6 + 0.5  # at most one drip interval (and scheduling) past the deadline
    assert server.requests == ["/slow"]


def test_a_server_that_stalls_past_the_request_deadline_fails_as_the_deadline_not_a_read_timeout(drip):
    """The read timeout is cut to what is left of the deadline; when that fires, the deadline passed."""
    server = drip(lambda path: b"[" + b"1," * 200 + b"1]", pieces=2, interval=5.0)  # half, then a 5 s stall
    policy = RetryPolicy(attempts=3, total_seconds=0.5, wait_initial=0.01, wait_max=0.02)
    with HttpFetcher(read_timeout=30.0, retry=policy) as fetcher, pytest.raises(FetchError) as raised:
        fetcher.get(server.url("/stall"))
    assert raised.value.problem.startswith("no complete answer within the 0.5 s allowed per request")
    assert raised.value.attempts == 1 and server.requests == ["/stall"]  # a passed deadline is not retried


def test_a_day_of_pages_that_drip_stops_at_the_day_deadline_and_keeps_the_pages_it_got(drip, tmp_path):
    item = json.dumps([hf_item("2403.00001", "One paper per page")]).encode()
    server = drip(lambda path: item, pieces=4, interval=0.05)  # about 0.2 s a page, 20 pages a day
    api = HuggingFaceDailyPapers(base_url=server.url(""), page_size=1)
    with HttpFetcher(read_timeout=2.0, retry=FAST, day_deadline_seconds=0.7) as fetcher:
        began = time.monotonic()
        day = collect_http_day(RawStore(tmp_path / "raw"), tmp_path, fetcher, "huggingface", DAY, api.day_pages)
        took = time.monotonic() - began
    assert "the day's fetching went over its 0.7 s deadline" in str(day.error)
    assert 1 <= len(day.dumps) < 20 and [row["outcome"] for row in day.log] == ["ok"] * len(day.dumps) + ["error"]
    assert took < 0.7 + 0.5


# --- 2. the warehouse is not held while fetching ----------------------------------------------

WRITER = """
import sys, duckdb
with duckdb.connect(sys.argv[1]) as con:
    con.execute("create table if not exists written_during_fetch (n integer)")
    con.execute("insert into written_during_fetch values (1)")
"""


def test_another_process_writes_the_warehouse_while_a_run_waits_on_a_fetch(httpserver, hf_feed):
    """The API answers only after another process has opened feed.duckdb read-write and written
    to it: had raw_dumps held the file while fetching, that process would get a lock error."""
    feed = hf_feed(httpserver)
    httpserver.expect_request("/api/daily_papers").respond_with_handler(hf_api({}))
    assert feed.materialize(DAY - dt.timedelta(days=1)).success  # the warehouse file exists
    httpserver.clear()
    writers: list[subprocess.CompletedProcess] = []

    def answer_after_another_writer(request):
        writers.append(subprocess.run([sys.executable, "-c", WRITER, str(feed.warehouse_path)],
                                      capture_output=True, text=True, timeout=60))
        return hf_api({DAY: [hf_item("2403.00001", "Fetched while another process wrote")]})(request)
    httpserver.expect_request("/api/daily_papers").respond_with_handler(answer_after_another_writer)

    assert feed.materialize(DAY).success
    assert len(writers) == 1 and writers[0].returncode == 0, writers[0].stderr
    assert feed.query("select count(*) from written_during_fetch") == [(1,)]
    assert feed.query("select title from papers") == [("Fetched while another process wrote",)]
