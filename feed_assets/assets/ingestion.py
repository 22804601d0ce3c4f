"""Ingestion: the day's dumps into the raw store, then parsed into appearances and rejections."""

import datetime as dt

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from feed_assets.parsing import SOURCE_OF_FORMAT, UnknownFormatError, detect_format, parse_dump
from feed_assets.partitions import daily_partitions, partition_days
from feed_assets.resources import FeedStorage, warehouse_connection
from feed_assets.sources.inbox import read_day
from feed_assets.warehouse.rows import (
    appearance_records,
    appearances_frame,
    rejection_records,
    rejections_frame,
)
from feed_assets.warehouse.writes import RAW_DUMP_COLUMNS, replace_day_entries, replace_raw_dumps

INBOX_CHANNEL = "inbox"
PREVIEW_ROWS = 10


def markdown_table(frame: pd.DataFrame, max_rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """A DataFrame's first rows as markdown for the Dagster UI."""
    if frame.empty:
        return dg.MetadataValue.md("_(no rows)_")
    return dg.MetadataValue.md(frame.head(max_rows).to_markdown(index=False))


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="ingestion",
    kinds={"duckdb", "file"},
)
def raw_dumps(context: dg.AssetExecutionContext, storage: FeedStorage,
              warehouse: DuckDBResource) -> dg.MaterializeResult:
    """Every file of the day's inbox folder, kept byte for byte in the content-addressed raw store.

    One row per dump: feed date, channel, origin (file name), detected source and format,
    sha256, size and where the bytes are. Re-loading the same bytes is a no-op; a changed
    file is a new dump and the old bytes stay in the raw store. A file whose format can't be
    recognised fails its day with an error naming the file, and that day's rows are left
    as they were; the other days of the run are still stored.
    """
    store = storage.raw_store
    failures: list[str] = []
    frames: list[pd.DataFrame] = []
    with warehouse_connection(warehouse) as con:
        for day in partition_days(context):
            files = read_day(storage.inbox_dir, day)
            try:
                formats = [detect_format(file.data, file.origin) for file in files]
            except UnknownFormatError as error:
                failures.append(f"{day}: {error}")
                context.log.error(f"{day}: not loaded: {error}")
                continue
            rows = []
            for file, fmt in zip(files, formats):
                stored = store.put(file.data)
                rows.append({
                    "feed_date": day, "channel": INBOX_CHANNEL, "origin": file.origin,
                    "source": SOURCE_OF_FORMAT[fmt], "format": fmt, "sha256": stored.sha256,
                    "size_bytes": stored.size_bytes, "raw_path": stored.path.relative_to(storage.data_dir).as_posix(), "stored_at": stored.stored_at,
                })
            day_frame = pd.DataFrame(rows, columns=list(RAW_DUMP_COLUMNS)).astype(object)
            replace_raw_dumps(con, day, INBOX_CHANNEL, day_frame)
            frames.append(day_frame)
            context.log.info(f"{day}: {len(rows)} dump(s) from the inbox")
    if failures:
        raise dg.Failure(
            description="Some days were not loaded, their files match no feed format:\n" + "\n".join(failures),
            metadata={"failed_days": len(failures)},
        )
    loaded = pd.concat(frames) if frames else pd.DataFrame(columns=list(RAW_DUMP_COLUMNS))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(loaded),
        "days": len(frames),
        "bytes": int(loaded["size_bytes"].sum()) if len(loaded) else 0,
        "formats": dg.MetadataValue.json(loaded["format"].value_counts().to_dict() if len(loaded) else {}),
        "preview": markdown_table(loaded[["feed_date", "origin", "format", "size_bytes", "sha256"]]),
    })


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "paper_appearances", deps=["raw_dumps"], group_name="warehouse", kinds={"duckdb"},
            description=(
                "Each well-formed entry of each dump: feed date, dump, position, source and format, "
                "the paper it is (paper_id, with the match_rule that decided it) and what the dump "
                "said, normalized (NFC, whitespace and arXiv line breaks folded, version-less ids, "
                "full dates)."
            ),
        ),
        dg.AssetSpec(
            "rejected_entries", deps=["raw_dumps"], group_name="warehouse", kinds={"duckdb"},
            description=(
                "Each malformed item, kept aside with its day, dump, position, the place in the file, "
                "a reason a person understands and an excerpt. The rest of the day still loads."
            ),
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def parsed_entries(context: dg.AssetExecutionContext, storage: FeedStorage, warehouse: DuckDBResource):
    """Parse every dump of each day and replace the day's appearances and rejections in one
    transaction, re-resolving the identity of the entries the day affects."""
    store = storage.raw_store
    totals = {"entries": 0, "rejected": 0, "reresolved": 0}
    rejected_preview: list[pd.DataFrame] = []
    with warehouse_connection(warehouse) as con:
        days = partition_days(context)
        for index, day in enumerate(days, start=1):
            dumps = con.execute("""
                select sha256, min(origin) as origin from raw_dumps where feed_date = ?
                group by sha256 order by origin
            """, [day]).fetchall()
            appearances, rejections = [], []
            for sha256, origin in dumps:
                parsed = parse_dump(store.get(sha256), origin, day)
                if parsed.declared_date and parsed.declared_date != day:
                    context.log.warning(f"{origin}: the page says {parsed.declared_date}, its feed date is {day}")
                appearances += appearance_records(day, sha256, parsed)
                rejections += rejection_records(day, sha256, origin, parsed)
            written = replace_day_entries(con, day, appearances_frame(appearances), rejections_frame(rejections))
            for key in totals:
                totals[key] += getattr(written, key)
            if rejections:
                rejected_preview.append(rejections_frame(rejections))
            context.log.info(f"day {index} of {len(days)} ({day}): {written.entries} entries, "
                             f"{written.rejected} rejected, {written.reresolved} identities re-resolved")
    rejected = pd.concat(rejected_preview) if rejected_preview else rejections_frame([])
    yield dg.MaterializeResult(asset_key="paper_appearances", metadata={
        "dagster/row_count": totals["entries"],
        "days": len(days),
        "identities_reresolved": totals["reresolved"],
    })
    yield dg.MaterializeResult(asset_key="rejected_entries", metadata={
        "dagster/row_count": totals["rejected"],
        "preview": markdown_table(rejected[["feed_date", "origin", "location", "reason", "excerpt"]]),
    })
