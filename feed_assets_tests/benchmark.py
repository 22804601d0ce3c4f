"""``make bench``: how the engine's cost compares with Dagster's own, on real and synthetic feeds.

Each figure is measured in a process of its own (so its peak memory is its own), on a real
Dagster instance and DuckDB file, next to Dagster's floor: one no-op daily asset backfilled
over the same partitions in one run, in the same session.

- **P1**: the one-run backfill of all of ``../shared/data`` (HF responses and arXiv
  listings) with the seeds' samples; its ratio to the floor (goal <= 2.0). Measured three
  times (``--p1-runs``), each backfill and its floor in a fresh process: on the 2-core
  machine one ratio alone moves by 0.1 from run to run (the floor by up to a tenth), so the
  median is reported, with the three.
- **P2**: a new day's whole run on ten years of synthetic arXiv history against the same
  day on 30 days of history (goal <= 1.2): three new days, one after another, each in a
  fresh process as the schedule runs them; the medians are compared.
- **P3**: ten years of a synthetic arXiv-volume feed (about 1,000 papers a weekday, written
  by ``synthetic_feed``) backfilled in one run (goal <= 10 minutes, <= 2 GiB peak RSS).
- the seconds of each step of a run, and the throughput of each stage of the engine (parse,
  identity, papers, terms, trends, publish), so the next bottleneck is visible.

Not a test: nothing here asserts on time. ``--years`` shortens P2/P3 for a quick look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

from feed_assets.definitions import build_definitions
from feed_assets.partitions import range_tags
from feed_assets.resources import WAREHOUSE_FILE
from feed_assets.warehouse.publish import PublicationStats

SHARED = Path(__file__).resolve().parents[2] / "shared"
SOURCES = {"hf-daily-papers": "hf-daily-papers.json", "arxiv-listings": "arxiv-listing.jsonl"}
SYNTHETIC_END = dt.date(2025, 12, 31)
RECENT_HISTORY_DAYS = 30
P1_RUNS = 3


def build_shared_inbox(shared: Path, inbox: Path) -> list[dt.date]:
    """Copy every shared dump (data and seed samples) into ``inbox/DAY/``; returns the days."""
    days = set()
    for folder, name in SOURCES.items():
        for path in sorted((shared / "data" / folder).glob("*.json*")):
            day = dt.date.fromisoformat(path.name.split(".")[0])
            (inbox / day.isoformat()).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, inbox / day.isoformat() / name)
            days.add(day)
    return sorted(days)


def step_seconds(records: list[dg.EventLogEntry]) -> dict[str, float]:
    """Seconds from each step's start to its success or failure, from the run's event log."""
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for record in records:
        event = record.dagster_event
        if event is None or not record.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[record.step_key] = record.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            seconds[record.step_key] = record.timestamp - started.get(record.step_key, record.timestamp)
    return seconds


def stage_seconds(records: list[dg.EventLogEntry]) -> dict[str, float]:
    """The run's stages that are not steps of their own, from its event log: ``parsed_entries``'
    seconds waiting for parses, resolving identity and writing (its ``paper_appearances``
    materialization's metadata), and the query copy's publications (the warehouse's line in
    the run's log, ``PublicationStats``)."""
    stages: dict[str, float] = {}
    for record in records:
        materialization = record.asset_materialization
        if materialization is not None and materialization.asset_key == dg.AssetKey("paper_appearances"):
            for name in ("parse_wait_seconds", "identity_seconds", "write_seconds", "dumps_parsed_ahead"):
                if name in materialization.metadata:
                    stages[name] = float(materialization.metadata[name].value)
        publications = PublicationStats.from_summary(record.user_message or "")
        if publications is not None:
            stages.update({f"publish_{name}": float(value) for name, value in vars(publications).items()})
    return stages


def execute_feed(data_dir: Path, home: Path, start: dt.date, end: dt.date
                 ) -> tuple[float, dict[str, float], dict[str, float]]:
    """Materialize every asset over ``start``..``end`` in one run; its wall, step seconds and
    stages (``stage_seconds``)."""
    home.mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        job = build_definitions(data_dir).resolve_implicit_global_asset_job_def()
        began = time.perf_counter()
        result = job.execute_in_process(instance=instance, tags=range_tags(start, end))
        wall = time.perf_counter() - began
        records = instance.all_logs(result.run_id)
        return wall, step_seconds(records), stage_seconds(records)


def run_feed(data_dir: Path, home: Path, start: dt.date, end: dt.date) -> dict:
    """``execute_feed``, and what the warehouse file holds after it."""
    wall, steps, stages = execute_feed(data_dir, home, start, end)
    with duckdb.connect(str(data_dir / WAREHOUSE_FILE), read_only=True) as con:
        entries, rejected, papers, terms = con.execute("""
            select (select count(*) from paper_appearances), (select count(*) from rejected_entries),
                   (select count(*) from papers), (select count(*) from term_daily_counts)""").fetchone()
    return {"wall": wall, "steps": steps, "stages": stages, "entries": entries, "rejected": rejected, "papers": papers,
            "term_rows": terms, "partitions": (end - start).days + 1,
            "warehouse_mib": (data_dir / WAREHOUSE_FILE).stat().st_size / 2**20}


def floor(start: dt.date, end: dt.date) -> float:
    """Dagster's floor over the project's own daily partitions (start date included)."""
    from feed_assets.partitions import daily_partitions
    from feed_assets_tests.dagster_floor import measure_floor

    return measure_floor(start, end, partitions_def=daily_partitions)


def synthetic_start(years: int) -> dt.date:
    return SYNTHETIC_END.replace(year=SYNTHETIC_END.year - years) + dt.timedelta(days=1)


NEW_DAYS = 3  # P2: new days run one after another, each in a process of its own


def new_days() -> list[dt.date]:
    """The first weekdays after the synthetic history: P2's new days."""
    days, day = [], SYNTHETIC_END + dt.timedelta(days=1)
    while len(days) < NEW_DAYS:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def scenario(name: str, root: Path, years: int, day: dt.date | None = None) -> dict:
    """One measurement, run in this process (the parent starts one process per scenario)."""
    if name == "p1":
        days = build_shared_inbox(SHARED, root / "p1" / "inbox")
        measured = run_feed(root / "p1", root / "p1-home", days[0], days[-1])
        measured["floor"] = floor(days[0], days[-1])
        return measured
    from feed_assets_tests.synthetic_feed import write_arxiv_inbox

    start = synthetic_start(years)
    if name == "p3":
        began = time.perf_counter()
        write_arxiv_inbox(root / "p3" / "inbox", start, new_days()[-1])
        written = time.perf_counter() - began
        measured = run_feed(root / "p3", root / "p3-home", start, SYNTHETIC_END)
        measured.update(inbox_seconds=written, floor=floor(start, SYNTHETIC_END))
        return measured
    if name == "p2-recent":
        recent = SYNTHETIC_END - dt.timedelta(days=RECENT_HISTORY_DAYS - 1)
        # the same days as P3's: copied from its inbox when it is there, else written (and cut)
        source = root / "p3" / "inbox"
        if not source.is_dir():
            source = root / "p2-written"
            write_arxiv_inbox(source, start, new_days()[-1])
        for folder in sorted(source.iterdir()):
            if dt.date.fromisoformat(folder.name) >= recent:
                shutil.copytree(folder, root / "p2" / "inbox" / folder.name)
        shutil.rmtree(root / "p2-written", ignore_errors=True)
        return run_feed(root / "p2", root / "p2-home", recent, SYNTHETIC_END)
    if name in ("p2-long-day", "p2-recent-day"):
        folder = "p3" if name == "p2-long-day" else "p2"
        return run_feed(root / folder, root / f"{folder}-home", day, day)
    raise ValueError(name)


def measure(name: str, root: Path, years: int, day: dt.date | None = None) -> dict:
    """Run a scenario in a process of its own; its figures and that process's peak RSS."""
    out = root / f"{name}.json"
    # the partitions are built when feed_assets is imported, from the project's data folder
    # unless told otherwise: they must hold the history (they run to today, as with a live source)
    env = {**os.environ, "FEED_END_DATE": "today"}
    if name != "p1":
        env["FEED_START_DATE"] = synthetic_start(years).isoformat()
    log = root / f"{name}.log"  # Dagster's event log lines, kept out of sight unless it fails
    day_args = ["--day", day.isoformat()] if day else []
    with log.open("w") as stderr:
        done = subprocess.run([sys.executable, "-m", "feed_assets_tests.benchmark", "--scenario", name,
                               "--root", str(root), "--years", str(years), "--out", str(out), *day_args],
                              env=env, stderr=stderr)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n" + log.read_text()[-4000:])
    measured = json.loads(out.read_text())
    measured["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return measured


def new_day_runs(name: str, root: Path, years: int) -> list[dict]:
    """P2's new days, one after another, each run in a fresh process (as the schedule does)."""
    return [measure(name, root, years, day) for day in new_days()]


def print_steps(steps: dict[str, float], entries: int | None = None) -> None:
    """The slowest steps, with their throughput when ``entries`` (the run's entries) is given."""
    for step, seconds in sorted(steps.items(), key=lambda item: -item[1])[:12]:
        rate = f"  ({entries / seconds if seconds else 0:,.0f} entries/s)" if entries else ""
        print(f"    {step:48} {seconds:7.2f} s{rate}")


def print_stages(run: dict) -> None:
    """The engine's stages, each with its throughput: parsing, identity and the entries' writes
    (parts of ``parsed_entries``), papers, terms, trends (steps), and the query copy (published
    on a thread of its own while the run goes on: what it cost the run is the wait)."""
    steps, stages = run["steps"], run.get("stages", {})
    entries, papers = run["entries"], run["papers"]

    def line(stage: str, seconds: float | None, count: float, unit: str, note: str) -> None:
        if seconds is None:
            return
        rate = f"{count / seconds:,.0f} {unit}/s" if seconds > 0 else "-"
        print(f"    {stage:9} {seconds:8.2f} s  {rate:>18}  {note}")

    print("  stages:")
    ahead = stages.get("dumps_parsed_ahead")
    line("parse", stages.get("parse_wait_seconds"), entries, "entries",
         "parsed_entries waiting for its parses (on both cores" +
         (f"; {ahead:,.0f} dumps parsed ahead, while raw_dumps was recorded)" if ahead else ")"))
    line("identity", stages.get("identity_seconds"), entries, "entries", "resolving identity over the run's entries")
    line("write", stages.get("write_seconds"), entries, "entries", "the rest of parsed_entries' writes")
    line("papers", steps.get("papers"), papers, "papers", "the papers step")
    line("terms", steps.get("term_daily_counts"), papers, "papers", "term_daily_counts")
    line("trends", steps.get("trending_terms"), run["partitions"], "days", "trending_terms")
    if "publish_seconds" in stages:
        line("publish", stages["publish_seconds"], stages["publish_files"], "files",
             f"the query copy (mostly on a thread of its own): {stages['publish_publications']:.0f} publications; "
             f"the run waited {stages['publish_waited_seconds']:.2f} s for them")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["p1", "p2-recent", "p3", "p2-long-day", "p2-recent-day"])
    parser.add_argument("--root", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--only", choices=["p1", "p3"], help="run only P1, or only P2 and P3")
    parser.add_argument("--day", type=dt.date.fromisoformat, help="the day of a p2-*-day scenario")
    parser.add_argument("--p1-runs", type=int, default=P1_RUNS, help="P1's measurements (the median is reported)")
    args = parser.parse_args(argv)
    if args.scenario:
        args.out.write_text(json.dumps(scenario(args.scenario, args.root, args.years, args.day), default=str))
        return 0
    if not (SHARED / "data").is_dir():
        print(f"no shared data at {SHARED / 'data'}: P1 is skipped", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="feed-bench-") as tmp:
        root = Path(tmp)
        if args.only != "p3" and (SHARED / "data").is_dir():
            runs = []
            for number in range(1, args.p1_runs + 1):
                folder = root / f"p1-run{number}"
                folder.mkdir()
                runs.append(measure("p1", folder, args.years))
                shutil.rmtree(folder)
            ratios = [run["wall"] / run["floor"] for run in runs]
            p1 = sorted(runs, key=lambda run: run["wall"] / run["floor"])[len(runs) // 2]
            print(f"P1 one-run backfill of ../shared/data: {p1['partitions']} partitions, {p1['entries']:,} entries, "
                  f"{p1['rejected']} rejected, {p1['papers']:,} papers")
            print(f"  median of {len(runs)} runs: wall {p1['wall']:.1f} s; Dagster floor (one no-op daily asset, "
                  f"same partitions) {p1['floor']:.1f} s; ratio {p1['wall'] / p1['floor']:.2f} (goal <= 2.0)")
            print("  each run: " + ", ".join(f"{run['wall']:.1f} s / {run['floor']:.1f} s = {ratio:.2f}"
                                             for run, ratio in zip(runs, ratios)))
            print(f"  peak RSS {p1['peak_rss_mib']:.0f} MiB; warehouse {p1['warehouse_mib']:.1f} MiB; "
                  f"term_daily_counts {p1['term_rows']:,} rows")
            print("  slowest steps of the median run:")
            print_steps(p1["steps"], p1["entries"])
            print_stages(p1)
        if args.only != "p1":
            p3 = measure("p3", root, args.years)
            print(f"P3 {args.years} years of synthetic arXiv in one run: {p3['partitions']} partitions, "
                  f"{p3['entries']:,} entries, {p3['papers']:,} papers (inbox written in {p3['inbox_seconds']:.0f} s)")
            print(f"  wall {p3['wall']:.1f} s ({p3['wall'] / 60:.1f} min, goal <= 10); floor {p3['floor']:.1f} s; "
                  f"peak RSS {p3['peak_rss_mib']:.0f} MiB (goal <= 2048); warehouse {p3['warehouse_mib']:.0f} MiB")
            print_steps(p3["steps"], p3["entries"])
            print_stages(p3)
            long_runs = new_day_runs("p2-long-day", root, args.years)
            measure("p2-recent", root, args.years)
            shutil.rmtree(root / "p3", ignore_errors=True)
            short_runs = new_day_runs("p2-recent-day", root, args.years)
            long, short = (statistics.median(run["wall"] for run in runs) for runs in (long_runs, short_runs))
            print(f"P2 a new day's run, each of {NEW_DAYS} new days in a fresh process (median): on {args.years} "
                  f"years of history {long:.2f} s, on {RECENT_HISTORY_DAYS} days of history {short:.2f} s; "
                  f"ratio {long / short:.2f} (goal <= 1.2)")
            for label, runs in (("long", long_runs), ("short", short_runs)):
                print(f"  {label} history, day by day: " + ", ".join(f"{run['wall']:.2f} s" for run in runs))
                print(f"  {label} history, slowest steps of the median day:")
                median_run = sorted(runs, key=lambda run: run["wall"])[len(runs) // 2]
                print_steps(median_run["steps"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
