"""``make bench``: a one-run backfill of all of ``../shared/data``, and what one day costs afterwards.

Copies the real HF daily-papers responses and arXiv listings into a temporary inbox, runs
every asset over the whole date range in one run on a real Dagster instance and DuckDB
file, and prints wall time, entries per second and peak memory. Then it re-runs a few
single days on the full warehouse and on an empty one, to show that a day's cost does not
grow with the history, and writes real days on top of a synthetic history of a million
entries to show the same for the warehouse write alone. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

from feed_assets.definitions import build_definitions
from feed_assets.resources import WAREHOUSE_FILE

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = {"hf-daily-papers": "hf-daily-papers.json", "arxiv-listings": "arxiv-listing.jsonl"}
# days whose top rising terms are printed, as a sanity check a person can read
REPORT_DAYS = (dt.date(2024, 7, 19), dt.date(2025, 1, 31), dt.date(2025, 4, 25), dt.date(2025, 8, 29),
               dt.date(2025, 12, 19))
PROBE_DAYS = (dt.date(2024, 6, 4), dt.date(2025, 4, 2), dt.date(2025, 11, 4))


def build_inbox(shared_data: Path, inbox: Path) -> list[dt.date]:
    """Copy every shared dump into ``inbox/DAY/``; returns the days."""
    days = set()
    for folder, name in SOURCES.items():
        for path in sorted((shared_data / folder).glob("*.json*")):
            day = dt.date.fromisoformat(path.name.split(".")[0])
            (inbox / day.isoformat()).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, inbox / day.isoformat() / name)
            days.add(day)
    return sorted(days)


TREND_GROUP = "trends"


def materialize(defs: dg.Definitions, instance: dg.DagsterInstance, start: dt.date, end: dt.date,
                group: str | None = None, exclude_group: str | None = None) -> float:
    """Run the assets (of a group, or all but one) over ``start``..``end`` in one run; wall seconds."""
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    selection = None
    if group or exclude_group:
        selection = [key for key in graph.get_all_asset_keys()
                     if (graph.get(key).group_name == group if group else graph.get(key).group_name != exclude_group)]
    began = time.perf_counter()
    job.execute_in_process(instance=instance, asset_selection=selection, tags={
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    })
    return time.perf_counter() - began


def peak_memory_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def single_day_costs(defs, instance, days) -> dict[dt.date, float]:
    return {day: materialize(defs, instance, day, day) for day in days}


SYNTHETIC_HISTORY = (0, 1_000_000)
HISTORY_PROBE_DAYS = 30


def day_write_cost_over_history(shared_data: Path, history_rows: int, folder: Path) -> float:
    """Milliseconds per day to write real HF days on top of ``history_rows`` synthetic entries."""
    from feed_assets.parsing import parse_dump
    from feed_assets.warehouse.connection import prepare
    from feed_assets.warehouse.rows import appearance_records, appearances_frame, rejection_records, rejections_frame
    from feed_assets.warehouse.writes import replace_day_entries

    con = prepare(duckdb.connect(str(folder / f"history-{history_rows}.duckdb")))
    con.execute("""
        insert into paper_appearances (appearance_id, feed_date, source, format, dump_sha256, position,
            paper_id, match_rule, arxiv_id, title, abstract, title_key, abstract_key)
        select 'synthetic:' || i, date '1990-01-01' + (i // 40)::int, 'arxiv', 'arxiv_listing', md5(i::varchar),
            i % 40, 'arxiv:s' || i, 'arxiv_id', 's' || i, 'synthetic ' || i, 'synthetic',
            'synthetic ' || md5(i::varchar), md5((-i)::varchar)
        from range(?) r(i)
    """, [history_rows])
    con.execute("checkpoint")
    days = []
    for path in sorted((shared_data / "hf-daily-papers").glob("*.json"))[:HISTORY_PROBE_DAYS]:
        day = dt.date.fromisoformat(path.stem)
        parsed = parse_dump(path.read_bytes(), path.name, day)
        sha = "b" * 64
        days.append((day, appearances_frame(appearance_records(day, sha, parsed)),
                     rejections_frame(rejection_records(day, sha, path.name, parsed))))
    began = time.perf_counter()
    for day, appearances, rejections in days:
        replace_day_entries(con, day, appearances, rejections)
    con.close()
    return (time.perf_counter() - began) / len(days) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, default=SHARED_DATA)
    args = parser.parse_args(argv)
    if not args.shared_data.is_dir():
        print(f"no shared data at {args.shared_data}: nothing to benchmark", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="feed-bench-") as tmp:
        root = Path(tmp)
        days = build_inbox(args.shared_data, root / "full" / "inbox")
        (root / "home").mkdir()
        with dg.instance_for_test(temp_dir=str(root / "home")) as instance:
            full = build_definitions(root / "full")
            wall = materialize(full, instance, days[0], days[-1], exclude_group=TREND_GROUP)
            trend_wall = materialize(full, instance, days[0], days[-1], group=TREND_GROUP)
            peak = peak_memory_mib()
            with duckdb.connect(str(root / "full" / WAREHOUSE_FILE), read_only=True) as con:
                entries, rejected, papers = con.execute("""
                    select (select count(*) from paper_appearances), (select count(*) from rejected_entries),
                           (select count(*) from papers)""").fetchone()
            size_mib = (root / "full" / WAREHOUSE_FILE).stat().st_size / 2**20
            with duckdb.connect(str(root / "full" / WAREHOUSE_FILE), read_only=True) as con:
                rising = {day: con.execute("""
                    select term, window_count, baseline_count from trending_terms
                    where feed_date = ? and kind = ? order by rank limit 6""", [day, kind]).fetchall()
                    for day in REPORT_DAYS for kind in ("text",)}
                keywords = {day: con.execute("""
                    select term from trending_terms where feed_date = ? and kind = 'keyword' order by rank limit 5
                    """, [day]).fetchall() for day in REPORT_DAYS}

            on_full = single_day_costs(full, instance, PROBE_DAYS)
            empty = build_definitions(root / "empty")
            for day in PROBE_DAYS:
                shutil.copytree(root / "full" / "inbox" / day.isoformat(), root / "empty" / "inbox" / day.isoformat())
            on_empty = single_day_costs(empty, instance, PROBE_DAYS)
        write_costs = {rows: day_write_cost_over_history(args.shared_data, rows, root) for rows in SYNTHETIC_HISTORY}

    span = (days[-1] - days[0]).days + 1
    print(f"one-run backfill of ../shared/data: {len(days)} days with dumps, {span} partitions "
          f"({days[0]}...{days[-1]})")
    print(f"  ingestion        {wall:8.1f} s   (raw_dumps to daily_feed_stats, with their checks; one run)")
    print(f"  trend layer      {trend_wall:8.1f} s   (term counts, trending terms, top papers, authors, "
          "categories; one run)")
    print(f"  entries          {entries:8d}   ({entries / wall:,.0f} entries/s through ingestion)")
    print(f"  rejected         {rejected:8d}")
    print(f"  papers           {papers:8d}")
    print(f"  peak memory      {peak:8.0f} MiB (RSS of the process)")
    print(f"  warehouse file   {size_mib:8.1f} MiB")
    print("one day re-run (whole job, one run), on the full history vs. on an empty warehouse:")
    for day in PROBE_DAYS:
        print(f"  {day}  full {on_full[day]:5.2f} s   empty {on_empty[day]:5.2f} s")
    print("top rising text terms (papers in the 7-day window / in the 28 days before), and HF keywords:")
    for day in REPORT_DAYS:
        terms = ", ".join(f"{term} ({w}/{b})" for term, w, b in rising[day]) or "(none)"
        print(f"  week to {day}: {terms}")
        print(f"  {'':17}keywords: {', '.join(k for (k,) in keywords[day]) or '(none)'}")
    print(f"warehouse write of one day ({HISTORY_PROBE_DAYS} real HF days, mean), by size of the history before it:")
    for rows, cost in write_costs.items():
        print(f"  {rows:>9,} entries of history   {cost:6.1f} ms per day")
    return 0


if __name__ == "__main__":
    sys.exit(main())
