"""The Dagster UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Starts ``dagster dev`` (webserver and daemon) on a free port with a temporary Dagster home
and feed folder, checks that the asset catalog lists the project's assets, launches a
materialization of one sample day from the UI, waits for the run to succeed, and saves
screenshots to ``$FEED_UI_SCREENSHOTS`` (default: the test's temporary folder). Skipped, with
the reason, only where Chromium or Playwright is not installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from feed_assets.sample_data import generate_sample_inbox
from feed_assets_tests.conftest import SAMPLE_START

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="needs Debian's chromium (apt-get install chromium) and playwright (pip install -e '.[dev]')")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).parent / "dagster"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
PROJECT_ASSETS = ("raw_dumps", "paper_appearances", "papers", "daily_feed_stats", "trending_terms", "top_papers")
DAY = SAMPLE_START.replace(day=4)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dagster_ui(tmp_path):
    """``dagster dev`` on 127.0.0.1, ready to answer; stopped (with its daemon) afterwards."""
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "feed_assets" / "automation" / "dagster.yaml", home / "dagster.yaml")
    generate_sample_inbox(data / "inbox", start=SAMPLE_START, days=7)
    port = free_port()
    log = (tmp_path / "dagster-dev.log").open("w")
    server = subprocess.Popen(
        [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)], cwd=PROJECT_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(home), "FEED_DATA_DIR": str(data)},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            assert server.poll() is None, (tmp_path / "dagster-dev.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the Dagster UI did not come up in 180 s"
            time.sleep(0.5)
        yield url, data
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def open_launch_dialog(page) -> None:
    """Open the materialize dialog. Dagster's one-time community dialog can pop up at that very
    moment, and dismissing it (the Skip handler) closes the launch dialog too: open it once more
    then (bounded: two tries)."""
    for attempt in range(2):
        page.get_by_role("button", name="Materialize selected").click()
        try:
            expect(page.get_by_text("Show all partitions")).to_be_visible(timeout=20_000)
            return
        except AssertionError:
            if attempt:
                raise


def launched_run_ids(url: str) -> list[str]:
    """The ids of the runs the instance knows, from the webserver's own GraphQL API."""
    answer = httpx.post(f"{url}/graphql", timeout=30, json={
        "query": "{ runsOrError { ... on Runs { results { runId } } } }"}).json()
    return [run["runId"] for run in answer["data"]["runsOrError"]["results"]]


def test_the_ui_shows_the_assets_and_materializes_a_day(dagster_ui, tmp_path):
    url, data = dagster_ui
    shots = Path(os.environ.get("FEED_UI_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)

        # the community dialog a new Dagster instance shows once: dismiss it whenever it appears
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        page.goto(f"{url}/assets")
        for asset in PROJECT_ASSETS:
            expect(page.get_by_text(asset, exact=True).first).to_be_visible()
        page.screenshot(path=str(shots / "1-assets.png"))

        page.get_by_role("checkbox").first.locator("xpath=..").click()  # select every asset
        open_launch_dialog(page)
        page.get_by_text("Show all partitions").click()
        partitions = page.locator("[role=dialog] input[type=text]").first
        partitions.fill(DAY.isoformat())
        partitions.press("Enter")
        expect(page.get_by_text("1 partition", exact=True)).to_be_visible()
        page.screenshot(path=str(shots / "2-launch.png"))
        page.get_by_role("button", name="Launch 1 run").click()
        expect(page.get_by_text("Launched run")).to_be_visible()
        page.screenshot(path=str(shots / "3-launched.png"))
        (run_id,) = launched_run_ids(url)
        page.goto(f"{url}/runs/{run_id}")
        try:
            expect(page.get_by_text("Success").first).to_be_visible(timeout=240_000)
        finally:
            page.screenshot(path=str(shots / "4-run.png"))
        page.goto(f"{url}/assets/trending_terms")
        expect(page.get_by_text("Terms used significantly more").first).to_be_visible()
        page.screenshot(path=str(shots / "5-trending-terms.png"))
        page.goto(f"{url}/assets/trending_terms?view=events")
        expect(page.get_by_text("chart_path").first).to_be_visible()
        page.screenshot(path=str(shots / "6-events.png"), full_page=True)
        page.get_by_text("[Show Markdown]").first.click()  # the "chart" entry opens in a dialog
        chart = page.locator("img[src^='data:image/png']").first  # the rising-terms chart, in the metadata
        expect(chart).to_be_visible()
        chart.scroll_into_view_if_needed()
        assert chart.evaluate("image => image.naturalWidth") > 0
        page.screenshot(path=str(shots / "7-chart.png"), full_page=True)
        browser.close()

    import duckdb
    with duckdb.connect(str(data / "query.duckdb"), read_only=True) as con:  # readers' copy, open any time
        assert con.execute("select count(*) from paper_appearances where feed_date = ?", [DAY]).fetchone()[0] > 0
