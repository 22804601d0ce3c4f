"""The warehouse's upkeep: a weekly job that compacts a DuckLake's files and expires its old
snapshots (``warehouse/maintenance.py``), or checkpoints the DuckDB file."""

import dagster as dg

from feed_assets.resources import WAREHOUSE_POOL, Warehouse
from feed_assets.warehouse.maintenance import maintain_lake


class MaintenanceConfig(dg.Config):
    keep_days: int = 7
    """How far back time travel reaches: snapshots older than this are expired."""


@dg.op(pool=WAREHOUSE_POOL, out=dg.Out(dg.Nothing))
def compact_warehouse(context: dg.OpExecutionContext, config: MaintenanceConfig, warehouse: Warehouse):
    """On a DuckLake: inlined rows flushed to Parquet, files with many deleted rows rewritten,
    small adjacent files merged, snapshots older than ``keep_days`` expired and the files no
    snapshot needs deleted, with DuckLake's own functions. On the DuckDB file: a checkpoint."""
    with warehouse.connection() as con:
        if not warehouse.catalog:
            con.execute("checkpoint")
            context.log.info("the DuckDB file checkpointed")
            return dg.Output(None, metadata={"checkpointed": True})
        done = maintain_lake(con, config.keep_days)
    context.log.info(f"data files {done.files_before} -> {done.files_after}, {done.snapshots_expired} snapshot(s) "
                     f"expired, {done.files_deleted} file(s) deleted")
    return dg.Output(None, metadata={"data_files_before": done.files_before, "data_files_after": done.files_after,
                                     "snapshots_expired": done.snapshots_expired, "files_deleted": done.files_deleted})


@dg.job(description="Compact the warehouse: on a DuckLake, merge small files and expire old snapshots.")
def warehouse_maintenance_job():
    compact_warehouse()


warehouse_maintenance_schedule = dg.ScheduleDefinition(
    job=warehouse_maintenance_job, cron_schedule="0 3 * * 0", execution_timezone="UTC",
    description="Every Sunday at 03:00 UTC: the warehouse's upkeep (warehouse_maintenance_job).")
