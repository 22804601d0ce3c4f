"""Quality gates. Blocking checks stop the trends when the warehouse would poison them; warning
checks make bad input visible in the UI without stopping anything. Checks only read, but for
``papers_have_unique_ids``, which keeps how far it has checked: the others' connections write no
shared table (``shared_tables=False``), so on a DuckLake they never wait for another run's
writer lock."""

import datetime as dt
from collections import Counter
from collections.abc import Mapping

import dagster as dg

from feed_assets.assets.ingestion import NOT_LOADED, markdown_table
from feed_assets.parsing import JsonProblem, load_json
from feed_assets.partitions import days_between, run_days, span_text
from feed_assets.resources import WAREHOUSE_POOL, FeedStorage, Warehouse
from feed_assets.warehouse.schema import TABLES
from feed_assets.warehouse.unique_ids import check_unique_ids, duplicate_keys

# a day has collapsed when its entries fall below this fraction of the source's recent weekday norm
COLLAPSE_FRACTION = 0.25
NORM_WEEKS = 4
MIN_NORM_ENTRIES = 10
# days_are_complete blocks runs of up to this many days (the schedule's, the sensor's, a
# re-run); a longer backfill of history meets real quiet days (holidays), so there it warns
BLOCKING_RUN_DAYS = 7
EXPECTED_HF_FIELDS = {"paper", "publishedAt", "title", "numComments"}
KNOWN_HF_FIELDS = EXPECTED_HF_FIELDS | {
    "thumbnail", "submittedBy", "isAuthorParticipating", "summary", "mediaUrls", "organization", "mediaUrl",
    "submitterOrganization"}

def check_days(context: dg.AssetCheckExecutionContext) -> list[dt.date]:
    """The days a check looks at: the run's (one day or a range), or, in a run launched without
    days, the days ``paper_appearances`` last parsed (first to last). A backfill launched from
    the UI's Materialize dialog is such a pair of runs: ``raw_dumps`` over the range, then the
    unpartitioned assets and their checks in a run of their own, which parses the range's days;
    a check executed on its own from the UI is another. Checks are not partitioned, even on the
    per-day assets: Dagster would record each one for every day of a range (as much bookkeeping
    as a daily asset), so each evaluates these days."""
    days = run_days(context.run.tags)
    if days:
        return days
    parsed = metadata_day_span(context, "paper_appearances", "first_day_parsed", "last_day_parsed")
    return days_between(*parsed) if parsed else []


def days_checked(days: list[dt.date]) -> str:
    """The days a check looked at, for the UI: one day, a range, or none."""
    return span_text(days) if days else "none (no feed day in this run)"


@dg.asset_check(asset="papers", blocking=True, pool=WAREHOUSE_POOL,
                description="Every paper_id appears once in papers (a duplicate would double-count every trend). "
                            "Once the whole table has passed, only the ids written since are grouped, as long as "
                            "nothing but the writes of papers changed it (warehouse/unique_ids.py).")
def papers_have_unique_ids(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connection() as con, warehouse.bookkeeping(con):
        checked = check_unique_ids(con, "papers_have_unique_ids", "papers", examples=20)
    return dg.AssetCheckResult(passed=checked.duplicates.empty, metadata={
        "duplicate_ids": len(checked.duplicates), "examples": markdown_table(checked.duplicates),
        "ids_checked": "all" if checked.whole_table else f"{checked.ids_checked} written since the last pass",
        "whole_table_checked": checked.whole_table})


@dg.asset_check(asset="paper_appearances", blocking=True, pool=WAREHOUSE_POOL,
                description=f"No weekday of the run has far fewer entries (< {COLLAPSE_FRACTION:.0%}) than the "
                            f"source's median over the previous {NORM_WEEKS} weeks of weekdays with data: a "
                            "partial fetch would fake a collapse in every trend, so papers and trends wait.")
def days_are_complete(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    days = check_days(context)
    if not days:
        return dg.AssetCheckResult(passed=True, description="no feed day in this run",
                                   metadata={"days_checked": days_checked(days)})
    with warehouse.connection(shared_tables=False) as con:
        collapsed = con.execute(f"""
            with run_days as (select unnest(?::date[]) as feed_date),
            counts as (
                select feed_date, source, count(*) as entries from paper_appearances
                where feed_date between ?::date - {7 * NORM_WEEKS} and ? group by all
            ), norms as (
                select r.feed_date, c.source, median(c.entries) as norm, count(*) as days_with_data
                from run_days r join counts c
                  on c.feed_date between r.feed_date - {7 * NORM_WEEKS} and r.feed_date - 1
                 and isodow(c.feed_date) <= 5
                group by all
            )
            select n.feed_date, n.source, coalesce(c.entries, 0) as entries, n.norm, n.days_with_data
            from norms n left join counts c using (feed_date, source)
            where isodow(n.feed_date) <= 5 and n.norm >= {MIN_NORM_ENTRIES} and n.days_with_data >= 5
              and coalesce(c.entries, 0) < {COLLAPSE_FRACTION} * n.norm
            order by n.feed_date, n.source
        """, [days, min(days), max(days)]).df()
    backfill = len(days) > BLOCKING_RUN_DAYS
    return dg.AssetCheckResult(
        passed=collapsed.empty,
        # a backfill of history meets real quiet days (holidays): it is told, not stopped
        severity=dg.AssetCheckSeverity.WARN if backfill else dg.AssetCheckSeverity.ERROR,
        description=None if collapsed.empty else
        f"{len(collapsed)} day/source(s) look partial: re-fetch them (refetch) or check the inbox"
        + (f" (a run of more than {BLOCKING_RUN_DAYS} days only warns)" if backfill else ""),
        metadata={"days_checked": days_checked(days), "collapsed_days": len(collapsed),
                  "days": markdown_table(collapsed)})


@dg.asset_check(asset="rejected_entries", pool=WAREHOUSE_POOL,
                description="Warns when the run's days hold malformed items (kept aside in rejected_entries).")
def no_rejected_entries(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    days = check_days(context)
    with warehouse.connection(shared_tables=False) as con:
        rejected = con.execute("""
            select feed_date, origin, location, reason, excerpt from rejected_entries
            where feed_date in (select unnest(?::date[])) order by feed_date, origin, position
        """, [days]).df()
    return dg.AssetCheckResult(passed=rejected.empty, severity=dg.AssetCheckSeverity.WARN, metadata={
        "days_checked": days_checked(days), "rejected": len(rejected), "examples": markdown_table(rejected)})


@dg.asset_check(asset="paper_appearances", pool=WAREHOUSE_POOL,
                description="Warns when a papers page shows a date other than the day it was filed under.")
def page_dates_match_feed_dates(context: dg.AssetCheckExecutionContext,
                                warehouse: Warehouse) -> dg.AssetCheckResult:
    days = check_days(context)
    with warehouse.connection(shared_tables=False) as con:
        mismatched = con.execute("""
            select feed_date, page_date, dump_sha256, count(*) as entries from paper_appearances
            where feed_date in (select unnest(?::date[])) and page_date is not null and page_date <> feed_date
            group by all order by feed_date
        """, [days]).df()
    return dg.AssetCheckResult(passed=mismatched.empty, severity=dg.AssetCheckSeverity.WARN, metadata={
        "days_checked": days_checked(days), "mismatched_dumps": len(mismatched), "dumps": markdown_table(mismatched)})


@dg.asset_check(asset="raw_dumps", pool=WAREHOUSE_POOL,
                description="Warns on schema drift in Hugging Face API items: fields never seen before, "
                            "or expected fields missing.")
def hf_items_have_the_known_fields(context: dg.AssetCheckExecutionContext, warehouse: Warehouse,
                                   storage: FeedStorage) -> dg.AssetCheckResult:
    days = check_days(context)
    with warehouse.connection(shared_tables=False) as con:
        dumps = con.execute("""
            select distinct sha256 from raw_dumps
            where format = 'hf_daily_papers' and feed_date in (select unnest(?::date[]))
        """, [days]).fetchall()
    fields, items = Counter(), 0
    for (sha256,) in dumps:
        try:
            body = load_json(storage.raw_store.get(sha256))
        except JsonProblem:
            continue  # a broken body is reported by the parser as a rejection
        for item in body.get("data", []) if isinstance(body, dict) else body:
            if isinstance(item, dict):
                items += 1
                fields.update(item.keys())
    new = sorted(set(fields) - KNOWN_HF_FIELDS)
    missing = sorted(field for field in EXPECTED_HF_FIELDS if items and fields[field] < items)
    return dg.AssetCheckResult(passed=not new and not missing, severity=dg.AssetCheckSeverity.WARN, metadata={
        "days_checked": days_checked(days), "items": items, "new_fields": dg.MetadataValue.json(new),
        "expected_fields_missing": dg.MetadataValue.json({f: items - fields[f] for f in missing})})


@dg.asset_check(asset="daily_feed_stats", pool=WAREHOUSE_POOL,
                description="Warns when a source that delivered dumps returned no entries on a weekday.")
def sources_are_not_empty_on_weekdays(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connection(shared_tables=False) as con:
        empty = con.execute("""
            select feed_date, source, dumps from daily_feed_stats
            where isodow(feed_date) <= 5 and dumps > 0 and entries = 0
            order by feed_date, source
        """).df()
    return dg.AssetCheckResult(passed=empty.empty, severity=dg.AssetCheckSeverity.WARN, metadata={
        "empty_weekdays": len(empty), "days": markdown_table(empty)})


# Each table's natural key (warehouse/schema.py) must be unique. A crash can never leave a
# duplicate (every write is one transaction, and no index can fall out of step with its
# table), and this check would show one if it did. The per-day tables are checked on the
# run's days, the derived ones on the days their last materialization touched.
UNIQUE_KEY_TABLES = ("raw_dumps", "paper_appearances", "daily_feed_stats", "term_daily_counts", "trending_terms",
                     "term_bursts", "top_papers", "paper_attention", "author_activity", "category_trends")
PER_DAY_TABLES = ("raw_dumps", "paper_appearances")


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("rows_are_unique", asset=table,
                             description=f"No two rows of {table} share its natural key "
                                         f"({', '.join(TABLES[table].natural_key)}).")
           for table in UNIQUE_KEY_TABLES],
    pool=WAREHOUSE_POOL,
    can_subset=True,
)
def rows_are_unique(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    run = check_days(context)
    tables = selected_assets(context, UNIQUE_KEY_TABLES)
    # the derived tables' last materializations, in one lookup of the event log (one each cost
    # about 40 ms a table, most of this check's time on a day's run)
    touched = latest_metadata_of(context, [table for table in tables if table not in PER_DAY_TABLES])
    with warehouse.connection(shared_tables=False) as con:
        for table in tables:
            if table in PER_DAY_TABLES:
                days = (min(run), max(run)) if run else None
            else:
                days = day_span(touched[table], "first_day_touched", "last_day_touched")
            spec = TABLES[table]
            duplicates = duplicate_keys(con, table, spec.natural_key, f"? or {spec.day_column} between ? and ?",
                                        [days is None and table not in PER_DAY_TABLES, *(days or (None, None))])
            yield dg.AssetCheckResult(asset_key=table, check_name="rows_are_unique", passed=duplicates.empty,
                                      metadata={"days_checked": f"{days[0]}...{days[1]}" if days else "all",
                                                "duplicate_keys": len(duplicates),
                                                "examples": markdown_table(duplicates)})


def selected_assets(context: dg.AssetCheckExecutionContext, assets: tuple[str, ...]) -> list[str]:
    """The assets among ``assets`` whose check this run selected (a run may select a few assets)."""
    selected = {key.asset_key.to_user_string() for key in context.selected_asset_check_keys}
    return [asset for asset in assets if asset in selected]


def latest_metadata_of(context: dg.AssetCheckExecutionContext,
                       assets: list[str]) -> dict[str, Mapping[str, dg.MetadataValue]]:
    """The metadata of each asset's latest materialization (empty if it has none), read from the
    event log in one lookup."""
    events = context.instance.get_latest_materialization_events([dg.AssetKey(asset) for asset in assets])
    return {asset: (event.asset_materialization.metadata
                    if (event := events.get(dg.AssetKey(asset))) and event.asset_materialization else {})
            for asset in assets}


def day_span(metadata: Mapping[str, dg.MetadataValue], first_key: str, last_key: str,
             ) -> tuple[dt.date, dt.date] | None:
    """The first and last day a materialization's metadata names under these keys (None when it
    names none: the days that were recomputed, for a check that looks at them only)."""
    first, last = metadata.get(first_key), metadata.get(last_key)
    if not (first and last and first.value and last.value):
        return None
    return dt.date.fromisoformat(first.value), dt.date.fromisoformat(last.value)


def metadata_day_span(context: dg.AssetCheckExecutionContext, asset: str, first_key: str,
                      last_key: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day the asset's latest materialization names under these metadata
    keys (None when it names none)."""
    return day_span(latest_metadata_of(context, [asset])[asset], first_key, last_key)


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("days_were_loaded", asset=asset,
                             description="Every day of the run was loaded: a day whose file matched no format, "
                                         "whose fetch failed or whose dump could not be parsed is left as it was "
                                         "and named here (the other days go on).")
           for asset in ("raw_dumps", "paper_appearances")],
    can_subset=True,
)
def days_were_loaded(context: dg.AssetCheckExecutionContext):
    assets = selected_assets(context, ("raw_dumps", "paper_appearances"))
    for asset, metadata in latest_metadata_of(context, assets).items():
        failures = metadata[NOT_LOADED].value if NOT_LOADED in metadata else []
        yield dg.AssetCheckResult(
            asset_key=asset, check_name="days_were_loaded", passed=not failures,
            description=None if not failures else f"{len(failures)} day(s) not loaded, left as they were: "
                                                  + "; ".join(failures[:5]),
            metadata={"days_not_loaded": len(failures),
                      "why": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures) or "_(none)_")})


quality_checks = [papers_have_unique_ids, days_are_complete, no_rejected_entries, page_dates_match_feed_dates,
                  hf_items_have_the_known_fields, sources_are_not_empty_on_weekdays, rows_are_unique, days_were_loaded]
