"""The Dagster UI in a real browser: headless Chromium (Debian's package) driven by Playwright.

Starts ``dg dev`` (webserver and daemon), as ``make ui`` does, on a free port with a temporary
Dagster home and a feed folder holding the 16 sample days, then does what the README says a
person does: launches a range of days from the catalog's Materialize dialog (an asset
backfill: two runs, see the README's Backfills section) and the rest of the sample as one
run from the launchpad with the range tags, and looks at what the catalog shows: partitions
that are the sample's days, the column schema of a table, a day's own numbers on a partition
of ``raw_dumps``, every check's status in the list and in its detail pane, the trending
terms' chart with the sample's rising term. Screenshots of the main pages go to
``$FEED_UI_SCREENSHOTS`` (default: the test's temporary folder; ``make screenshots`` writes
``docs/screenshots/``). Skipped, with the reason, only where Chromium or Playwright is not
installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from feed_assets.definitions import defs
from feed_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from feed_assets.sample_data import RISING_TOPIC, generate_sample_inbox
from feed_assets.warehouse.schema import TABLES
from feed_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_END, SAMPLE_START
from feed_assets_tests.webserver import graphql, stop, wait_until_serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="needs Debian's chromium (apt-get install chromium) and playwright (pip install -e '.[dev]')")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parents[1]
DG = VENV / "bin" / "dg"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
EXPECTED_UNPARTITIONED = ("paper_appearances", "rejected_entries", "papers", "daily_feed_stats", "term_daily_counts",
                          "trending_terms", "term_bursts", "top_papers", "paper_attention", "author_activity",
                          "category_trends")
PROJECT_ASSETS = ("raw_dumps", "paper_appearances", "papers", "daily_feed_stats", "trending_terms", "top_papers")
# the range launched from the Materialize dialog, and the one launched as one run from the launchpad:
# the rest of the sample, whose last days hold its rising term (sample_data.RISING_TOPIC)
DIALOG_RANGE = (SAMPLE_START, SAMPLE_START.replace(day=4))  # Friday to Monday
LAUNCHPAD_RANGE = (SAMPLE_START.replace(day=5), SAMPLE_END)
LOCATION = "feed_assets"  # [tool.dg.project] code_location_name
VIEWPORT = {"width": 1280, "height": 800}
RUNS_DEADLINE_SECONDS = 300  # the backfill daemon looks every 30 s; a loaded 2-core CI machine is slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dagster_ui(tmp_path):
    """``dg dev`` on 127.0.0.1, as ``make ui`` starts it, ready to answer; stopped (with its daemon)
    afterwards."""
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "feed_assets" / "automation" / "dagster.yaml", home / "dagster.yaml")
    generate_sample_inbox(data / "inbox", start=SAMPLE_START, days=SAMPLE_DAYS)
    port = free_port()
    log = (tmp_path / "dagster-dev.log").open("w")
    server = subprocess.Popen(
        [str(DG), "dev", "-h", "127.0.0.1", "-p", str(port)], cwd=PROJECT_ROOT,
        env={**{key: value for key, value in os.environ.items() if key not in {"FEED_START_DATE", "FEED_END_DATE"}},
             "VIRTUAL_ENV": str(VENV), "DAGSTER_HOME": str(home), "FEED_DATA_DIR": str(data)},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # the partitions: the sample's days
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server, tmp_path / "dagster-dev.log")
        # the one-time "Join the Dagster community" dialog of a new instance: seen, as its Skip
        # button records it (a dialog that pops up over another one closed both)
        assert graphql(url, "mutation { setNuxSeen }")["setNuxSeen"]
        yield url, data
    finally:
        stop(server)  # what Ctrl-C sends to `make ui`
        log.close()
    assert "dg dev" not in (tmp_path / "dagster-dev.log").read_text()  # no notice to use another command


def open_launch_dialog(page) -> None:
    """Open the materialize dialog. A one-time dialog of Dagster's (community, what's new) can pop
    up at that very moment, and dismissing it closes the launch dialog too: open it once more
    then (bounded: two tries)."""
    for attempt in range(2):
        page.get_by_role("button", name="Materialize selected").click()
        try:
            expect(page.get_by_text("Partition selection")).to_be_visible(timeout=20_000)
            return
        except AssertionError:
            if attempt:
                raise


RUNS_QUERY = """query ($filter: RunsFilter) { runsOrError(filter: $filter) { ... on Runs { results {
    runId status startTime endTime tags { key value } assetSelection { path } } } } }"""


def runs(url: str, tags: dict[str, str] | None = None) -> list[dict]:
    """The runs the instance knows (with these tags), oldest first, each with its tags as a dict."""
    variables = {"filter": {"tags": [{"key": key, "value": value} for key, value in tags.items()]}} if tags else {}
    found = graphql(url, RUNS_QUERY, variables)["runsOrError"]["results"]
    for run in found:
        run["tags"] = {tag["key"]: tag["value"] for tag in run["tags"]}
        run["assets"] = {asset["path"][-1] for asset in run["assetSelection"] or []}
    return sorted(found, key=lambda run: run["startTime"] or float("inf"))


def wait_for(condition, what: str, seconds: float = RUNS_DEADLINE_SECONDS):
    """Poll ``condition`` until it returns something true (returned), within a deadline."""
    deadline = time.monotonic() + seconds
    while not (answer := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {seconds:.0f} s"
        time.sleep(1)
    return answer


def finished(found: list[dict]) -> list[dict] | None:
    """The runs, once there are some and every one has ended (None until then)."""
    done = found and all(run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in found)
    return found if done else None


def backfill_runs_done(url: str, backfill_id: str) -> list[dict] | None:
    """The backfill's runs once the backfill has ended (None while it goes on)."""
    status = graphql(url, "query ($id: String!) { partitionBackfillOrError(backfillId: $id) { "
                          "... on PartitionBackfill { status } } }", {"id": backfill_id})
    if status["partitionBackfillOrError"]["status"] in ("REQUESTED", "CANCELING"):
        return None
    return runs(url, {"dagster/backfill": backfill_id})


CHECKS_QUERY = """query ($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode {
    assetChecksOrError { ... on AssetChecks { checks { name
        executionForLatestMaterialization { status evaluation { success } } } } } } } }"""


def latest_check_executions(url: str) -> dict[str, dict[str, tuple[str, bool | None]]]:
    """Each asset's checks with the status of their latest execution and whether it passed, as the
    webserver reports them."""
    assets = graphql(url, "{ assetNodes { assetKey { path } } }")["assetNodes"]
    found = {}
    for key in sorted(node["assetKey"]["path"][-1] for node in assets):
        node = graphql(url, CHECKS_QUERY, {"key": {"path": [key]}})["assetNodeOrError"]
        checks = node["assetChecksOrError"]["checks"]
        found[key] = {check["name"]: ((execution or {}).get("status"), ((execution or {}).get("evaluation") or {}).get("success"))
                      for check in checks for execution in [check["executionForLatestMaterialization"]]}
    return {key: checks for key, checks in found.items() if checks}


def expect_metadata(page, label: str, value: int) -> None:
    """The materialization shown has the metadata entry ``label`` with this value (its row says so)."""
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=label, exact=True)).first
    expect(row.get_by_role("cell").nth(1)).to_have_text(re.compile(rf"^\s*({value}|{value:,})\s*$"))


def test_the_ui_launches_ranges_as_the_readme_says_and_shows_each_days_numbers(dagster_ui, tmp_path):
    url, data = dagster_ui
    shots = Path(os.environ.get("FEED_UI_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    first, last = (day.isoformat() for day in DIALOG_RANGE)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        # should a one-time dialog show anyway, close it (without waiting for it to go)
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click(),
                                 no_wait_after=True)

        # the catalog; every asset selected, a range of four days from the Materialize dialog
        page.goto(f"{url}/assets")
        for asset in PROJECT_ASSETS:
            expect(page.get_by_text(asset, exact=True).first).to_be_visible()
        page.get_by_role("checkbox").first.locator("xpath=..").click()  # select every asset
        open_launch_dialog(page)
        # the partitions are the sample's days, first to last (not to today)
        dialog = page.locator("[role=dialog]")
        expect(dialog.get_by_text(SAMPLE_START.isoformat(), exact=True)).to_be_visible()
        expect(dialog.get_by_text(SAMPLE_END.isoformat(), exact=True)).to_be_visible()
        partitions = page.locator("[role=dialog] input[type=text]").first
        partitions.fill(f"[{first}...{last}]")
        partitions.press("Enter")
        expect(page.get_by_text("4 partitions", exact=True)).to_be_visible()
        page.screenshot(path=str(shots / "materialize-range.png"))
        page.get_by_role("button", name="Launch backfill").click()
        expect(page.locator("[role=dialog]")).to_have_count(0)
        (backfill,) = graphql(url, "{ partitionBackfillsOrError { ... on PartitionBackfills { results { id } } } }"
                              )["partitionBackfillsOrError"]["results"]

        # while the daemon runs the backfill: the column schema of a table, and the lineage
        page.goto(f"{url}/assets/papers")
        expect(page.get_by_role("button", name=re.compile("Columns"))).to_be_visible()
        for column in TABLES["papers"].columns:
            row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=column.name, exact=True))
            expect(row).to_contain_text(column.description)
        page.get_by_role("button", name=re.compile("Columns")).evaluate("heading => heading.scrollIntoView()")
        page.screenshot(path=str(shots / "papers-columns.png"))
        page.goto(f"{url}/assets/papers?view=lineage&lineageScope=neighbors&lineageDepth=4")
        expect(page.get_by_text("trending_terms", exact=True).first).to_be_visible()
        page.screenshot(path=str(shots / "lineage.png"))

        # what the README says a range from the dialog is: two runs, raw_dumps over the range,
        # then, once it has succeeded, every other asset in one run without days
        collect, derive = wait_for(lambda: backfill_runs_done(url, backfill["id"]), "the backfill's runs")
        assert [run["status"] for run in (collect, derive)] == ["SUCCESS", "SUCCESS"]
        assert collect["assets"] == {"raw_dumps"}
        assert (collect["tags"][RANGE_START_TAG], collect["tags"][RANGE_END_TAG]) == (first, last)
        assert derive["assets"] == set(EXPECTED_UNPARTITIONED)
        assert not {RANGE_START_TAG, RANGE_END_TAG, "dagster/partition"} & set(derive["tags"])
        assert derive["startTime"] >= collect["endTime"]

        # the second run's checks looked at the range's days: the list and the detail agree
        page.goto(f"{url}/assets/paper_appearances?view=checks")
        check = page.get_by_text("days_are_complete", exact=True).first
        expect(check).to_be_visible()
        check.click()
        expect(page.get_by_text("Passed", exact=True).first).to_be_visible()
        expect(page.get_by_text(f"{first}...{last}", exact=True).first).to_be_visible()  # days_checked
        expect(page.get_by_text("Skipped")).to_have_count(0)

        # a day's partition of raw_dumps shows that day's own numbers, not the run's (a Monday)
        with duckdb.connect(str(data / "query.duckdb"), read_only=True) as con:
            day_rows, day_bytes = con.execute("select count(*), sum(size_bytes) from raw_dumps where feed_date = ?",
                                              [DIALOG_RANGE[1]]).fetchone()
            run_rows = con.execute("select count(*) from raw_dumps where feed_date between ? and ?",
                                   list(DIALOG_RANGE)).fetchone()[0]
        assert 0 < day_rows < run_rows
        day = DIALOG_RANGE[1].isoformat()
        page.goto(f"{url}/assets/raw_dumps?view=partitions&partition={day}")
        expect_metadata(page, "dagster/row_count", day_rows)
        expect_metadata(page, "bytes", day_bytes)
        expect_metadata(page, "run_dumps", run_rows)  # what is said of the run is labelled so
        page.screenshot(path=str(shots / "raw-dumps-partition.png"))

        # one run for a range: the launchpad of daily_feed_job, with the range as two tags
        launch_start, launch_end = (day.isoformat() for day in LAUNCHPAD_RANGE)
        page.goto(f"{url}/locations/{LOCATION}/jobs/daily_feed_job")
        materialize_all = page.get_by_role("button", name="Materialize all…")
        expect(materialize_all).to_be_visible()
        page.locator("button:right-of(:text('Materialize all…'))").first.click()
        page.get_by_text("Open launchpad").click()
        page.get_by_role("button", name="Edit tags").click()
        tags = page.locator("[role=dialog]").last
        tags.get_by_text("Add custom tag").click()
        fields = tags.locator("input")
        for index, text in enumerate((RANGE_START_TAG, launch_start, RANGE_END_TAG, launch_end)):
            fields.nth(index).fill(text)
        tags.get_by_role("button", name="Apply").click()
        expect(page.get_by_text(f"asset_partition_range_end: {launch_end}")).to_be_visible()
        page.screenshot(path=str(shots / "launchpad-range.png"))
        page.locator("[role=dialog]").get_by_role("button", name=re.compile(r"Materialize$")).click()
        page.get_by_role("button", name="Confirm").click()  # "launch a run without a partition?": the tags are
        (single,) = wait_for(lambda: finished(runs(url, {RANGE_START_TAG: launch_start})), "the launchpad's run")
        assert single["status"] == "SUCCESS" and single["tags"][RANGE_END_TAG] == launch_end
        page.goto(f"{url}/runs/{single['runId']}")
        expect(page.get_by_text("Success").first).to_be_visible()
        expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()  # the run's log has loaded
        page.screenshot(path=str(shots / "run.png"))
        assert "raw_dumps" in single["assets"] and "trending_terms" in single["assets"]

        # the trending terms, with the top rising terms and the chart of the sample's last day
        page.goto(f"{url}/assets/trending_terms?view=events")
        expect(page.get_by_text("chart_path").first).to_be_visible()
        with duckdb.connect(str(data / "query.duckdb"), read_only=True) as con:
            rising = [term for (term,) in con.execute(
                "select term from trending_terms where feed_date = ? order by kind, rank", [SAMPLE_END]).fetchall()]
        assert RISING_TOPIC in rising  # the sample's planted phrase rose over its last days

        def show_markdown(entry: str) -> None:  # a Markdown entry opens in a dialog
            page.locator("tr", has=page.get_by_text(entry, exact=True)).get_by_text("[Show Markdown]").click()

        show_markdown("top_terms_week")  # the week's ranked list holds the planted phrase
        expect(page.get_by_role("dialog").get_by_text(RISING_TOPIC, exact=True).first).to_be_visible()
        page.get_by_role("button", name="Close").click()
        show_markdown("chart")
        chart = page.locator("img[src^='data:image/png']").first  # the rising-terms chart, in the metadata
        expect(chart).to_be_visible()
        assert chart.evaluate("image => image.naturalWidth") > 0
        # the dialog fades in: the screenshot waits until the chart and its dialog are opaque
        page.wait_for_function("""image => { for (let e = image; e; e = e.parentElement)
                                      if (getComputedStyle(e).opacity !== '1') return false;
                                  return true; }""", arg=chart.element_handle())
        page.screenshot(path=str(shots / "trending-terms-chart.png"))
        page.get_by_role("button", name="Close").click()

        # every check: its status in the list is its latest execution's, and the detail pane agrees
        executions = latest_check_executions(url)
        assert sum(map(len, executions.values())) == len(defs.resolve_asset_graph().asset_check_keys)
        for asset, checks in executions.items():
            page.goto(f"{url}/assets/{asset}?view=checks")
            for check, (status, passed) in checks.items():
                assert status in ("SUCCEEDED", "FAILED"), (asset, check, status)  # every check ran
                item = page.locator(f'div[title="{check}"]').first
                listed = item.locator("xpath=following-sibling::span")
                expect(listed).to_have_text("Succeeded" if status == "SUCCEEDED" else "Failed")
                item.click()
                result = page.get_by_text("Evaluation result", exact=True).locator("xpath=following-sibling::div[1]")
                expect(result).to_have_text("Passed" if passed else "Failed")
            expect(page.get_by_text("Skipped")).to_have_count(0)

        # the catalog once both ranges are in: raw_dumps' partitions are the sample's 16 days, all
        # materialized, none missing; every other asset is materialized
        stats = graphql(url, '{ assetNodeOrError(assetKey: {path: ["raw_dumps"]}) { ... on AssetNode { '
                             'partitionStats { numMaterialized numPartitions } } } }')["assetNodeOrError"]
        assert stats["partitionStats"] == {"numMaterialized": SAMPLE_DAYS, "numPartitions": SAMPLE_DAYS}
        page.goto(f"{url}/assets")
        expect(page.get_by_text(f"{SAMPLE_DAYS} partitions", exact=True)).to_be_visible()
        expect(page.get_by_text("Materialized", exact=True)).to_have_count(len(EXPECTED_UNPARTITIONED))
        page.screenshot(path=str(shots / "catalog.png"))
        browser.close()

    assert len(runs(url)) == 3  # the backfill's two and the launchpad's one
    with duckdb.connect(str(data / "query.duckdb"), read_only=True) as con:  # readers' copy, open any time
        stored = {day for (day,) in con.execute("select distinct feed_date from raw_dumps").fetchall()}
        parsed = {day for (day,) in con.execute("select distinct feed_date from paper_appearances").fetchall()}
    both_ranges = {SAMPLE_START + dt.timedelta(days=offset) for offset in range(SAMPLE_DAYS)}  # the whole sample
    assert stored == both_ranges
    assert parsed == {day for day in both_ranges if day.isoweekday() <= 5}  # the sample's weekends are empty
