"""Ingestion: the day's dumps (inbox files, API responses) into the raw store, then parsed into
appearances and rejections.

Only ``raw_dumps`` is day-partitioned: collecting is what a run is launched for, day by day
or over a range. ``parsed_entries`` pulls the days whose dumps changed and parses those, so
a range costs Dagster one partitioned key, not three. Both write set-based, in one
transaction per step (per batch of whole days for very long ranges)."""

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from tabulate import tabulate

from feed_assets.parsing import UnknownFormatError
from feed_assets.partitions import daily_partitions, partition_days, span_text
from feed_assets.resources import WAREHOUSE_POOL, DumpParsing, FeedSources, FeedStorage, Warehouse
from feed_assets.sources.collect import HTTP_CHANNEL, INBOX_CHANNEL, collect_http_day, collect_inbox_days
from feed_assets.warehouse.changes import pull
from feed_assets.warehouse.memory import give_back_freed_memory
from feed_assets.warehouse.parse_pool import DumpParser, StoredDump, day_batches
from feed_assets.warehouse.schema import TABLES, column_schema_metadata
from feed_assets.warehouse.writes import append_fetch_log, replace_entries, replace_raw_dumps

PREVIEW_ROWS = 10


def markdown_table(frame: pd.DataFrame, max_rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """A DataFrame's first rows as markdown for the Dagster UI."""
    return markdown_rows(list(frame.columns), frame.head(max_rows).values.tolist(), max_rows)


def markdown_rows(columns: Sequence[str], rows: Sequence[Sequence], max_rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """Rows (lists of values, in the order of ``columns``) as a markdown table for the Dagster UI."""
    if not rows:
        return dg.MetadataValue.md("_(no rows)_")
    return dg.MetadataValue.md(tabulate(rows[:max_rows], headers=list(columns), tablefmt="pipe"))


DUMP_PREVIEW_COLUMNS = ("channel", "origin", "format", "size_bytes")


NOT_LOADED = "not_loaded"


def not_loaded(failures: list[str]) -> dict:
    """Metadata naming the days (and why) that a step left as they were; the check
    ``days_were_loaded`` reads it and fails, in red, while the other days go on downstream."""
    return {NOT_LOADED: dg.MetadataValue.json(failures)}


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
    metadata=column_schema_metadata("raw_dumps"),
)
def raw_dumps(context: dg.AssetExecutionContext, config: RawDumpsConfig, storage: FeedStorage,
              sources: FeedSources, warehouse: Warehouse, parsing: DumpParsing) -> dg.MaterializeResult:
    """Every dump of the day, kept byte for byte in the content-addressed raw store.

    From each enabled source: the files of the day's inbox folder, and the Hugging Face and
    arXiv API responses (every page). One row per dump: feed date, channel, origin (file
    name or URL), detected source and format, sha256, size and where the bytes are. A day
    already fetched is not fetched again unless the run sets ``refetch``; re-loading the
    same bytes changes nothing, and a changed file or response is a new dump (the old bytes
    stay in the raw store). The warehouse is not held while fetching: the run's days are
    collected first, then written in one transaction. A day whose file matches no format,
    or whose fetch fails, is left as it was and named (with why) in the ``not_loaded``
    metadata, which the check ``days_were_loaded`` turns red; the other days are stored and
    go on downstream.
    """
    store = storage.raw_store
    data_dir = Path(storage.data_dir)
    days = partition_days(context)
    http_sources = [(name, resource) for name, resource in
                    (("huggingface", sources.huggingface if "hf" in sources.enabled else None),
                     ("arxiv", sources.arxiv if "arxiv" in sources.enabled else None)) if resource]
    fetched_before: set[tuple] = set()
    if http_sources and not config.refetch:
        # not held while fetching; on a DuckLake another run may write its days meanwhile
        with warehouse.connection(hold=False, shared_tables=False) as con:
            fetched_before = set(con.execute("""
                select distinct feed_date, source from raw_dumps
                where channel = ? and feed_date between ? and ?
            """, [HTTP_CHANNEL, min(days), max(days)]).fetchall())
    failures: list[tuple[dt.date, str]] = []  # (day, why it was left as it was)
    slots: list[dict] = []
    dumps: list[dict] = []
    fetch_log: list[dict] = []
    inbox_days = (collect_inbox_days(store, storage.inbox_dir, data_dir, days) if "inbox" in sources.enabled
                  else [None] * len(days))
    with ExitStack() as stack:
        fetchers = {name: stack.enter_context(resource.fetcher()) for name, resource in http_sources}
        apis = {name: resource.api() for name, resource in http_sources}
        for index, (day, rows) in enumerate(zip(days, inbox_days), start=1):
            if isinstance(rows, UnknownFormatError):
                failures.append((day, str(rows)))
                context.log.error(f"{day}: inbox not loaded: {rows}")
            elif rows is not None:
                slots.append({"feed_date": day, "channel": INBOX_CHANNEL, "source": None})
                dumps += rows
            for name, _ in http_sources:
                if (day, name) in fetched_before:
                    continue
                fetched = collect_http_day(store, data_dir, fetchers[name], name, day, apis[name].day_pages)
                fetch_log += fetched.log
                if fetched.error:
                    failures.append((day, f"{name}: {fetched.error}"))
                    context.log.error(f"{day}: {name} fetch failed: {fetched.error}")
                    continue
                slots.append({"feed_date": day, "channel": HTTP_CHANNEL, "source": name})
                dumps += fetched.dumps
            if index % 100 == 0:
                context.log.info(f"collected {index} of {len(days)} days ({len(dumps)} dumps)")
    frame = pd.DataFrame(dumps, columns=TABLES["raw_dumps"].column_names)
    slot_frame = pd.DataFrame(slots, columns=["feed_date", "channel", "source"])
    log_frame = pd.DataFrame(fetch_log, columns=TABLES["fetch_log"].column_names)

    # while Dagster records the run's partitions (about 13 ms each, on this thread), a worker
    # parses what was stored, batch after batch, for parsed_entries to take: in a long run that
    # parses too (a backfill launched in the UI runs raw_dumps alone, then the other assets)
    selection = context.run.asset_selection  # None or empty: the whole job
    parses_ahead = parsing.parses_ahead(len(days)) and (not selection or bool(selection & parsed_entries.keys))
    to_parse: list[StoredDump] = []

    def write_days(con: duckdb.DuckDBPyConnection) -> None:
        replace_raw_dumps(con, slot_frame, frame)
        append_fetch_log(con, log_frame)
        if parses_ahead:  # the run's days' dumps as parsed_entries lists them, in the same transaction
            to_parse[:] = stored_dumps(con, "select unnest(?::date[])", [days])

    # per-day tables only: on a DuckLake, runs for other days write theirs at the same time
    warehouse.write_retrying(write_days, shared_tables=False)
    parsed_ahead = parsing.parse_ahead(store.get, to_parse) if parses_ahead else 0
    # each day's materialization shows that day's numbers; what is said of the run goes on every
    # day. Plain Python over the dumps' dicts: per-day DataFrames cost about 1 ms a day
    by_day: dict[dt.date, list[dict]] = defaultdict(list)
    for dump in dumps:
        by_day[dump["feed_date"]].append(dump)
    failed_days = {day for day, _ in failures}
    for day in days:
        day_dumps = by_day.get(day, [])
        context.add_asset_metadata(partition_key=day.isoformat(), metadata={
            "dagster/row_count": len(day_dumps),
            "bytes": sum(dump["size_bytes"] for dump in day_dumps),
            "formats": dg.MetadataValue.json(dict(Counter(dump["format"] for dump in day_dumps).most_common())),
            "loaded": day not in failed_days,
            "preview": markdown_rows(DUMP_PREVIEW_COLUMNS, [[dump[column] for column in DUMP_PREVIEW_COLUMNS]
                                                            for dump in day_dumps]),
        })
    return dg.MaterializeResult(metadata={
        **not_loaded([f"{day}: {why}" for day, why in failures]),
        "run_days": span_text(days),
        "run_dumps": len(frame),
        "dumps_to_parse_ahead": parsed_ahead,
        "sources": ", ".join(sources.enabled),
    })


def stored_dumps(con: duckdb.DuckDBPyConnection, days_sql: str, params: Sequence = ()) -> list[StoredDump]:
    """The dumps ``raw_dumps`` holds for the days ``days_sql`` selects, as ``parsed_entries``
    parses them: one per day and bytes, under its first origin, in day order."""
    return [StoredDump(*row) for row in con.execute(f"""
        select feed_date, sha256, min(origin), any_value(size_bytes) from raw_dumps
        where feed_date in ({days_sql})
        group by feed_date, sha256 order by feed_date, min(origin)
    """, list(params)).fetchall()]


class ParseConfig(dg.Config):
    """Run options for parsing."""

    reparse_all: bool = False
    """Parse every stored day again, not only the days whose dumps changed (after a parser change)."""


PARSE_READER = "parsed_entries"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "paper_appearances", deps=["raw_dumps"], group_name="warehouse", kinds={"duckdb"},
            metadata=column_schema_metadata("paper_appearances"),
            description=(
                "Each well-formed entry of each dump: feed date, dump, position, source and format, "
                "the paper it is (paper_id, with the match_rule that decided it) and what the dump "
                "said, normalized (NFC, whitespace and arXiv line breaks folded, version-less ids, "
                "full dates). Not partitioned: each run parses the days whose dumps changed."
            ),
        ),
        dg.AssetSpec(
            "rejected_entries", deps=["raw_dumps"], group_name="warehouse", kinds={"duckdb"},
            metadata=column_schema_metadata("rejected_entries"),
            description=(
                "Each malformed item, kept aside with its day, dump, position, the place in the file, "
                "a reason a person understands and an excerpt. The rest of the day still loads. "
                "Not partitioned: each run parses the days whose dumps changed."
            ),
        ),
    ],
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def parsed_entries(context: dg.AssetExecutionContext, config: ParseConfig, storage: FeedStorage,
                   warehouse: Warehouse, parsing: DumpParsing):
    """Parse the dumps of every day whose dumps changed since the last run (all stored days the
    first time, or with ``reparse_all``), on every core, and replace those days' appearances
    and rejections set-based, resolving identity once over everything the days touch.

    Not partitioned, though its rows are per day: Dagster records each (asset, partition) of a
    run, and the days to parse are exactly those ``raw_dumps`` changed, which this asset pulls
    (``warehouse.changes``). A day whose dump cannot be parsed is left as it was and named in
    ``not_loaded`` (check ``days_were_loaded``); the other days load. Long ranges are parsed
    and written in batches of whole days, the workers parsing a batch while the one before
    is written; the days pulled count as taken in when the last batch commits, so a run that
    fails part-way is redone whole by the next one. Its metadata says where its time went:
    waiting for the parses (``parse_wait_seconds``), resolving identity (``identity_seconds``)
    and the rest of the writes (``write_seconds``).
    """
    store = storage.raw_store
    totals = {"entries": 0, "rejected": 0, "reresolved": 0}
    # where the step's time goes (its metadata, and make bench's stages): getting the parses
    # (waiting for the workers), resolving identity, and the rest of the writes
    seconds = {"parse_wait_seconds": 0.0, "identity_seconds": 0.0, "write_seconds": 0.0}
    failures: list[str] = []
    rejected_preview: list[pd.DataFrame] = []
    with warehouse.connection() as con:
        changes = pull(con, PARSE_READER, ["raw_dumps"])
        scope = ("select distinct feed_date as day from raw_dumps" if changes.full or config.reparse_all
                 else changes.days("raw_dumps"))
        days = [day for (day,) in con.execute(f"select day from ({scope}) order by day").fetchall()]
        stored = stored_dumps(con, f"select day from ({scope})")
        empty_days = sorted(set(days) - {dump.feed_date for dump in stored})
        batches = list(day_batches(stored)) or [[]]
        context.log.info(f"{len(days)} day(s) to parse, {len(stored)} dump(s), in {len(batches)} batch(es)")
        with DumpParser(store.get, run_bytes=sum(dump.size_bytes for dump in stored),
                        ahead=parsing.ahead) as parser:
            began = time.perf_counter()
            pending = parser.submit(batches[0])
            seconds["parse_wait_seconds"] += time.perf_counter() - began
            for number in range(1, len(batches) + 1):
                began = time.perf_counter()
                parsed = pending()
                if number < len(batches):  # the workers parse the next batch while this one is written
                    pending = parser.submit(batches[number])
                seconds["parse_wait_seconds"] += time.perf_counter() - began
                batch_days = parsed.loaded_days + (empty_days if number == 1 else [])
                for origin, page_date, feed_date in parsed.page_dates:
                    context.log.warning(f"{origin}: the page says {page_date}, its feed date is {feed_date}")
                for day, reason in parsed.failed.items():
                    failures.append(f"{day}: {reason}")
                    context.log.error(f"{day}: not parsed, left as it was: {reason}")
                began, identity_seconds = time.perf_counter(), 0.0
                with warehouse.write(con):
                    if batch_days:
                        written = replace_entries(con, batch_days, parsed.rows.appearance_table(),
                                                  parsed.rows.rejection_table())
                        totals["entries"] += written.entries
                        totals["rejected"] += written.rejected
                        totals["reresolved"] += written.reresolved
                        identity_seconds = written.identity_seconds
                    if number == len(batches):
                        changes.done(con)
                seconds["identity_seconds"] += identity_seconds
                seconds["write_seconds"] += time.perf_counter() - began - identity_seconds
                if not batch_days:
                    continue
                if written.rejected:
                    rejected_preview.append(parsed.rows.rejection_table().to_pandas())
                del parsed
                give_back_freed_memory()
                context.log.info(f"batch {number} of {len(batches)}: {written.days} day(s), {written.entries} "
                                 f"entries, {written.rejected} rejected, {written.reresolved} identities "
                                 "re-resolved")
            parsed_ahead = parser.taken_ahead - parser.parsed_again
            if parser.parsed_again:
                context.log.warning(f"{parser.parsed_again} dump(s) parsed ahead were parsed again by the step: "
                                    "getting their parse from the worker failed")
        table_rows = con.execute("""
            select (select count(*) from paper_appearances), (select count(*) from rejected_entries)
        """).fetchone()
    rejected = pd.concat(rejected_preview) if rejected_preview else pd.DataFrame(
        columns=TABLES["rejected_entries"].column_names)
    parsed_range = {"days_parsed": len(days), "first_day_parsed": days[0].isoformat() if days else "",
                    "last_day_parsed": days[-1].isoformat() if days else ""}
    yield dg.MaterializeResult(asset_key="paper_appearances", metadata={
        **not_loaded(failures),
        **parsed_range,
        "dagster/row_count": table_rows[0],
        "entries_written": totals["entries"],
        "identities_reresolved": totals["reresolved"],
        "dumps_parsed_ahead": parsed_ahead,
        **{name: round(value, 3) for name, value in seconds.items()},
    })
    yield dg.MaterializeResult(asset_key="rejected_entries", metadata={
        **parsed_range,
        "dagster/row_count": table_rows[1],
        "rejected_written": totals["rejected"],
        "preview": markdown_table(rejected[["feed_date", "origin", "location", "reason", "excerpt"]]),
    })
