"""Ingestion: the day's dumps (inbox files, API responses) into the raw store, then parsed into
appearances and rejections."""

from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pandas as pd

from feed_assets.parsing import UnknownFormatError, parse_dump
from feed_assets.partitions import daily_partitions, partition_days
from feed_assets.resources import WAREHOUSE_POOL, FeedSources, FeedStorage, Warehouse
from feed_assets.sources.collect import HTTP_CHANNEL, INBOX_CHANNEL, collect_http_day, collect_inbox_day
from feed_assets.warehouse.publish import publish_days, publish_schemas
from feed_assets.warehouse.rows import (
    appearance_records,
    appearances_frame,
    rejection_records,
    rejections_frame,
)
from feed_assets.warehouse.writes import (
    FETCH_LOG_COLUMNS,
    RAW_DUMP_COLUMNS,
    append_fetch_log,
    has_dumps,
    replace_day_entries,
    replace_raw_dumps,
)

PREVIEW_ROWS = 10


def markdown_table(frame: pd.DataFrame, max_rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """A DataFrame's first rows as markdown for the Dagster UI."""
    if frame.empty:
        return dg.MetadataValue.md("_(no rows)_")
    return dg.MetadataValue.md(frame.head(max_rows).to_markdown(index=False))


class RawDumpsConfig(dg.Config):
    """Run options for collecting dumps."""

    refetch: bool = False
    """Fetch the live feeds again even for days already fetched (a new response is a new dump)."""


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="ingestion",
    kinds={"duckdb", "file"},
    pool=WAREHOUSE_POOL,
)
def raw_dumps(context: dg.AssetExecutionContext, config: RawDumpsConfig, storage: FeedStorage,
              sources: FeedSources, warehouse: Warehouse) -> dg.MaterializeResult:
    """Every dump of the day, kept byte for byte in the content-addressed raw store.

    From each enabled source: the files of the day's inbox folder, and the Hugging Face and
    arXiv API responses (every page). One row per dump: feed date, channel, origin (file
    name or URL), detected source and format, sha256, size and where the bytes are. A day
    already fetched is not fetched again unless the run sets ``refetch``; re-loading the
    same bytes changes nothing, and a changed file or response is a new dump (the old bytes
    stay in the raw store). A day whose file matches no format, or whose fetch fails, is
    reported by name and left as it was; the other days of the run are still stored, and
    the step fails at the end so the UI shows which days need attention.
    """
    store = storage.raw_store
    data_dir = Path(storage.data_dir)
    http_sources = [(name, resource) for name, resource in
                    (("huggingface", sources.huggingface if "hf" in sources.enabled else None),
                     ("arxiv", sources.arxiv if "arxiv" in sources.enabled else None)) if resource]
    apis = {name: resource.api() for name, resource in http_sources}
    failures: list[str] = []
    loaded: list[dict] = []
    with warehouse.connection() as con, ExitStack() as stack:
        fetchers = {name: stack.enter_context(resource.fetcher()) for name, resource in http_sources}
        days = partition_days(context)
        for index, day in enumerate(days, start=1):
            day_rows: list[dict] = []
            if "inbox" in sources.enabled:
                try:
                    rows = collect_inbox_day(store, storage.inbox_dir, data_dir, day)
                except UnknownFormatError as error:
                    failures.append(f"{day}: {error}")
                    context.log.error(f"day {index} of {len(days)} ({day}): inbox not loaded: {error}")
                else:
                    replace_raw_dumps(con, day, INBOX_CHANNEL, dumps_frame(rows))
                    day_rows += rows
            for name, _ in http_sources:
                if not config.refetch and has_dumps(con, day, HTTP_CHANNEL, name):
                    context.log.info(f"day {index} of {len(days)} ({day}): {name} already fetched, "
                                     "re-using the stored responses")
                    continue
                fetched = collect_http_day(store, data_dir, fetchers[name], name, day, apis[name].day_pages)
                append_fetch_log(con, pd.DataFrame(fetched.log, columns=list(FETCH_LOG_COLUMNS)).astype(object))
                if fetched.error:
                    failures.append(f"{day}: {name}: {fetched.error}")
                    context.log.error(f"day {index} of {len(days)} ({day}): {name} fetch failed: {fetched.error}")
                    continue
                replace_raw_dumps(con, day, HTTP_CHANNEL, dumps_frame(fetched.dumps), source=name)
                day_rows += fetched.dumps
            loaded += day_rows
            publish_days(con, warehouse.data_dir, "raw_dumps", [day])
            publish_days(con, warehouse.data_dir, "fetch_log", [day])
            context.log.info(f"day {index} of {len(days)} ({day}): {len(day_rows)} dump(s) collected")
        publish_schemas(con, warehouse.data_dir)
    if failures:
        raise dg.Failure(
            description=f"{len(failures)} day/source(s) not loaded (the others were stored):\n" + "\n".join(failures),
            metadata={"failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures))},
        )
    frame = dumps_frame(loaded)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        "days": len(days),
        "sources": ", ".join(sources.enabled),
        "bytes": int(frame["size_bytes"].sum()) if len(frame) else 0,
        "formats": dg.MetadataValue.json(frame["format"].value_counts().to_dict() if len(frame) else {}),
        "preview": markdown_table(frame[["feed_date", "channel", "origin", "format", "size_bytes"]]),
    })


def dumps_frame(rows: list[dict]) -> pd.DataFrame:
    """``raw_dumps`` rows as a DataFrame with the table's columns."""
    return pd.DataFrame(rows, columns=list(RAW_DUMP_COLUMNS)).astype(object)


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
    pool=WAREHOUSE_POOL,
)
def parsed_entries(context: dg.AssetExecutionContext, storage: FeedStorage, warehouse: Warehouse):
    """Parse every dump of each day and replace the day's appearances and rejections in one
    transaction, re-resolving the identity of the entries the day affects."""
    store = storage.raw_store
    totals = {"entries": 0, "rejected": 0, "reresolved": 0}
    rejected_preview: list[pd.DataFrame] = []
    with warehouse.connection() as con:
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
            publish_days(con, warehouse.data_dir, "paper_appearances", written.changed_days)
            publish_days(con, warehouse.data_dir, "rejected_entries", [day])
            for key in totals:
                totals[key] += getattr(written, key)
            if rejections:
                rejected_preview.append(rejections_frame(rejections))
            context.log.info(f"day {index} of {len(days)} ({day}): {written.entries} entries, "
                             f"{written.rejected} rejected, {written.reresolved} identities re-resolved")
        publish_schemas(con, warehouse.data_dir)
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
