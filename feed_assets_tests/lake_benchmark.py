"""The shared setup measured: the warehouse on DuckLake against the DuckDB file.

On ``../shared/data`` (P1's days), each run in a process of its own, as ``make bench`` does:

- the one-run backfill on the DuckDB file, and on a DuckLake (a local PostgreSQL catalog,
  files on moto's S3 server started here);
- the same days as two backfills of their halves started at once on a fresh lake, against
  one run (their dumps are written at the same time, their writes of the shared tables take
  turns through the writer lock);
- a reader attached read-only to the lake during that single run: the latency of its
  queries, and whether any failed.

Not a test: nothing here asserts on time. ``python -m feed_assets_tests.lake_benchmark``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _pytest.outcomes
import duckdb

from feed_assets_tests.benchmark import SHARED, build_shared_inbox
from feed_assets_tests.lake_servers import lake_environment, running_postgres, running_s3


def run_in_process(data_dir: Path, home: Path, first: dt.date, last: dt.date, env: dict) -> subprocess.Popen:
    """``run_feed`` over ``first``..``last`` in a process of its own (its JSON on stdout)."""
    return subprocess.Popen([sys.executable, "-m", "feed_assets_tests.lake_benchmark", "--run", str(data_dir),
                             str(home), first.isoformat(), last.isoformat()],
                            env={**env, "FEED_END_DATE": "today"}, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def finished(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"a run failed (exit {process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


class Reader(threading.Thread):
    """Attaches the lake read-only and queries it every ``every`` seconds until stopped."""

    def __init__(self, env: dict, every: float = 0.5):
        super().__init__(daemon=True)
        self.env, self.every, self.latencies, self.errors = env, every, [], []
        self.stop = threading.Event()

    def run(self) -> None:
        from feed_assets.warehouse.catalog import connect_lake, parse_warehouse

        for key, value in self.env.items():
            os.environ[key] = value
        lake = connect_lake(parse_warehouse(self.env["FEED_WAREHOUSE"], self.env["FEED_LAKE_DATA_PATH"]))
        while not self.stop.is_set():
            began = time.perf_counter()
            try:
                lake.execute("select count(*), (select count(*) from papers) from daily_feed_stats").fetchall()
                self.latencies.append(time.perf_counter() - began)
            except duckdb.CatalogException:
                pass  # before the first step made the tables
            except duckdb.Error as error:
                self.errors.append(str(error))
            self.stop.wait(self.every)
        lake.close()


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if not (SHARED / "data").is_dir():
        print(f"no shared data at {SHARED / 'data'}: nothing to measure", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="feed-lake-bench-"))
    days = build_shared_inbox(SHARED, root / "inbox")
    first, last = days[0], days[-1]
    middle = days[len(days) // 2]
    base = {**os.environ}
    for key in ("FEED_WAREHOUSE", "FEED_LAKE_DATA_PATH"):
        base.pop(key, None)

    try:
        with running_postgres() as postgres, running_s3() as s3:
            def lake_env(name: str) -> dict:
                return {**base, **lake_environment(postgres, s3, prefix=name)}

            for name in ("file", "lake", "lake-halves"):
                (root / name).mkdir()
                (root / name / "inbox").symlink_to(root / "inbox", target_is_directory=True)
            file_run = finished(run_in_process(root / "file", root / "file-home", first, last, base))
            env = lake_env("lake")
            reader = Reader({key: env[key] for key in env if key.startswith(("AWS_", "FEED_"))})
            reader.start()
            lake_run = finished(run_in_process(root / "lake", root / "lake-home", first, last, env))
            reader.stop.set()
            reader.join()
            env = lake_env("halves")
            began = time.perf_counter()
            halves = [run_in_process(root / "lake-halves", root / f"halves-home-{n}", start, end, env)
                      for n, (start, end) in enumerate(((first, middle - dt.timedelta(days=1)), (middle, last)))]
            halves_runs = [finished(process) for process in halves]
            both = time.perf_counter() - began
    except _pytest.outcomes.Skipped as why:
        print(f"the lake benchmark needs its servers: {why.msg}", file=sys.stderr)
        return 1
    latencies = sorted(reader.latencies)
    print(f"{len(days)} days of ../shared/data ({file_run['entries']:,} entries, {file_run['papers']:,} papers)")
    print(f"  one run, DuckDB file:              {file_run['wall']:6.1f} s")
    print(f"  one run, DuckLake (PG + S3):       {lake_run['wall']:6.1f} s  ({lake_run['wall'] / file_run['wall']:.2f} x)")
    print(f"  two halves at once, DuckLake:      {both:6.1f} s  (each {halves_runs[0]['wall']:.1f} s and "
          f"{halves_runs[1]['wall']:.1f} s; one run {lake_run['wall']:.1f} s)")
    if latencies:
        print(f"  reader during the lake run: {len(latencies)} queries, median "
              f"{statistics.median(latencies) * 1000:.0f} ms, 90th percentile "
              f"{latencies[int(0.9 * (len(latencies) - 1))] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms, "
              f"{len(reader.errors)} errors")
    for step in ("raw_dumps", "parsed_entries", "term_daily_counts", "trending_terms", "papers"):
        print(f"    {step:20} file {file_run['steps'].get(step, 0):6.2f} s   lake {lake_run['steps'].get(step, 0):6.2f} s")
    return 0


def _run(argv: list[str]) -> int:
    from feed_assets_tests.benchmark import run_feed

    data_dir, home, first, last = Path(argv[0]), Path(argv[1]), *(dt.date.fromisoformat(a) for a in argv[2:4])
    if os.environ.get("FEED_WAREHOUSE"):
        measured = _run_feed_on_lake(data_dir, home, first, last)
    else:
        measured = run_feed(data_dir, home, first, last)
    print(json.dumps(measured, default=str))
    return 0


def _run_feed_on_lake(data_dir: Path, home: Path, first: dt.date, last: dt.date) -> dict:
    """``run_feed``'s figures, counted on the lake (there is no DuckDB file to count in)."""
    from feed_assets.warehouse.catalog import connect_lake, parse_warehouse
    from feed_assets_tests.benchmark import execute_feed

    wall, steps = execute_feed(data_dir, home, first, last)
    lake = connect_lake(parse_warehouse(os.environ["FEED_WAREHOUSE"], os.environ["FEED_LAKE_DATA_PATH"]))
    entries, papers = lake.execute("select (select count(*) from paper_appearances), "
                                   "(select count(*) from papers)").fetchone()
    return {"wall": wall, "steps": steps, "entries": entries, "papers": papers}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", nargs=4, metavar=("DATA_DIR", "HOME", "FIRST", "LAST"))
    args = parser.parse_args()
    sys.exit(_run(args.run) if args.run else main())
