"""Dagster's floor: what a one-run backfill costs when the asset does nothing.

``measure_floor(start, end)`` materializes ONE no-op daily-partitioned asset
(``BackfillPolicy.single_run()``, a ``DailyPartitionsDefinition`` starting at ``start``, like
the project's) over ``start``..``end`` in one run, on a real Dagster instance in a
temporary ``DAGSTER_HOME``, the same way the project runs range backfills
(``job.execute_in_process`` with the ``dagster/asset_partition_range_start``/``_end`` tags),
and returns the wall seconds of that run. What is left is Dagster's own per-run and
per-partition work: building the run, resolving the partition range, and writing one
materialization event per partition to the instance's event log. A pipeline's backfill time
divided by this floor says how much of it is the pipeline's own work.

Run ``python -m feed_assets_tests.dagster_floor`` to print the floor for 891 and 3,650 days.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import warnings

import dagster as dg

warnings.filterwarnings("ignore", message=".*backfill_policy.*")  # as feed_assets does: beta warning

FLOOR_ASSET = "dagster_floor_noop"


def floor_definitions(partitions_def: dg.PartitionsDefinition) -> dg.Definitions:
    """Definitions with one asset that does nothing, over ``partitions_def``, backfilled in one run."""

    @dg.asset(name=FLOOR_ASSET, partitions_def=partitions_def, backfill_policy=dg.BackfillPolicy.single_run())
    def noop(context):  # unannotated: a string annotation (future import) in a closure fails validation
        """Nothing: the run only pays Dagster's own costs for the partition range."""
        return dg.MaterializeResult()

    return dg.Definitions(assets=[noop])


def _run(job, instance: dg.DagsterInstance, start: dt.date, end: dt.date) -> float:
    began = time.perf_counter()
    job.execute_in_process(instance=instance, tags={
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    })
    return time.perf_counter() - began


def measure_floor(start: dt.date, end: dt.date, partitions_def: dg.PartitionsDefinition | None = None,
                  warm_up: bool = True) -> float:
    """Wall seconds of one run materializing the no-op daily asset for every day in ``start``..``end``.

    ``partitions_def`` defaults to ``DailyPartitionsDefinition(start_date=start)``; pass the
    project's (``feed_assets.partitions.daily_partitions``) to use exactly its range. The
    instance is fresh, in a temporary directory, and removed afterwards. With ``warm_up``
    a one-day run goes first (untimed, on the same instance), so the timed run does not pay
    the process's first-run costs (imports, caches) that the pipeline's run would not pay either
    once the process has run anything.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    partitions_def = partitions_def or dg.DailyPartitionsDefinition(start_date=start.isoformat())
    job = floor_definitions(partitions_def).resolve_implicit_global_asset_job_def()
    with tempfile.TemporaryDirectory(prefix="dagster-floor-") as home:
        with dg.instance_for_test(temp_dir=home) as instance:
            if warm_up:
                _run(job, instance, start, start)
            return _run(job, instance, start, end)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 1, 1))
    parser.add_argument("--days", type=int, nargs="+", default=[891, 3650])
    args = parser.parse_args(argv)
    for days in args.days:
        end = args.start + dt.timedelta(days=days - 1)
        seconds = measure_floor(args.start, end)
        print(f"dagster floor, {days:5d} daily partitions in one run ({args.start}...{end}): {seconds:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
