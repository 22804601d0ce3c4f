"""``feed-assets``: the project's command line (also ``python -m feed_assets.cli``).

``query`` runs SQL on the warehouse's read-only query copy, ``summary`` says what the
warehouse holds, ``paper`` tells one paper's whole history and why its entries merged,
``inbox-range`` prints the inbox's days as a partition range, and ``backfill`` loads a range
of days in one Dagster run, one line per step.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import click
import dagster as dg
import duckdb
from tabulate import tabulate

from feed_assets import settings
from feed_assets.identity.rules import RULES
from feed_assets.parsing.normalize import normalize_arxiv_id
from feed_assets.resources import WAREHOUSE_FILE
from feed_assets.sources.inbox import scan_inbox
from feed_assets.warehouse.catalog import LakeCatalog, connect_lake, parse_warehouse
from feed_assets.warehouse.publish import QUERY_DATABASE

COMMAND = ".venv/bin/feed-assets"
EXAMPLE_QUERIES = (
    "select paper_id, title, sources, n_appearances, first_seen_date from papers "
    "order by n_appearances desc limit 5",
    "select feed_date, source, entries, new_papers, repeat_papers, rejected from daily_feed_stats "
    "order by feed_date, source",
)
DEFAULT_TABLE_ROWS = 40
TABLE_CELL_CHARS = 80  # a longer value is cut in the table (never in --csv or --json)
RULE_MEANINGS = dict(RULES)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main() -> None:
    """feed-assets: load the research-paper feed into DuckDB and ask it questions.

    The data folder is $FEED_DATA_DIR (default: the project's data/).
    """


def readable_database() -> Path:
    """The published query copy (readable while runs write), or the warehouse before anything
    was published."""
    path = settings.data_dir() / QUERY_DATABASE
    if not path.exists():
        path = settings.data_dir() / WAREHOUSE_FILE
    if not path.exists():
        raise click.ClickException(f"no warehouse in {settings.data_dir()} yet: run `make run` first")
    return path


def lake() -> LakeCatalog | None:
    """The DuckLake that ``FEED_WAREHOUSE`` names, or None for the DuckDB file."""
    return parse_warehouse(settings.warehouse(), settings.lake_data_path())


def open_for_reading() -> duckdb.DuckDBPyConnection:
    """A connection to read the warehouse: the lake itself (readers see its committed
    snapshots at any time), or the file's query copy."""
    catalog = lake()
    if catalog is None:
        return connect_read_only(readable_database())
    try:
        return connect_lake(catalog)
    except duckdb.Error as error:
        raise click.ClickException(f"cannot attach the lake {catalog.metadata!r}: {error}") from None


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise click.ClickException(f"cannot open {path}: {error}") from None


# ---------------------------------------------------------------------------------------- query

def plain(value: object) -> object:
    """A value as JSON can hold it: dates as ISO text, decimals as numbers, bytes as hex."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def cell(value: object) -> str:
    """A value as one CSV or table cell: lists and structs as JSON, NULL as empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(plain(value), ensure_ascii=False)
    return str(plain(value))


def short(text: str) -> str:
    return text if len(text) <= TABLE_CELL_CHARS else text[:TABLE_CELL_CHARS - 1] + "…"


def batches(cursor: duckdb.DuckDBPyConnection, limit: int | None) -> Iterable[list[tuple]]:
    """The result's rows in batches, at most ``limit`` of them (None: all)."""
    remaining = limit
    while remaining is None or remaining > 0:
        rows = cursor.fetchmany(10_000 if remaining is None else min(remaining, 10_000))
        if not rows:
            return
        if remaining is not None:
            remaining -= len(rows)
        yield rows


@main.command()
@click.argument("sql")
@click.option("--csv", "output", flag_value="csv", help="Every row as CSV with a header (lists as JSON).")
@click.option("--json", "output", flag_value="json", help="Every row as one JSON object per line.")
@click.option("--limit", type=click.IntRange(min=0), default=None,
              help=f"At most N rows (the table shows {DEFAULT_TABLE_ROWS} unless told).")
@click.option("--all", "all_rows", is_flag=True, help="Every row, in the table too.")
def query(sql: str, output: str | None, limit: int | None, all_rows: bool) -> None:
    """Run SQL read-only on the query copy (open during runs too) and print every column.

    A table for a person by default (the first 40 rows, values cut at
    80 characters); --csv and --json print the whole result as data.
    """
    if all_rows and limit is not None:
        raise click.UsageError("--all and --limit exclude each other")
    with open_for_reading() as con:
        try:
            cursor = con.execute(sql)
        except duckdb.Error as error:
            raise click.ClickException(str(error)) from None
        if cursor.description is None:
            return
        columns = [column[0] for column in cursor.description]
        out = sys.stdout
        if output == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            for rows in batches(cursor, limit):
                writer.writerows([cell(value) for value in row] for row in rows)
        elif output == "json":
            for rows in batches(cursor, limit):
                out.write("".join(json.dumps(dict(zip(columns, plain(list(row)))), ensure_ascii=False) + "\n"
                                  for row in rows))
        else:
            shown = None if all_rows else (limit if limit is not None else DEFAULT_TABLE_ROWS)
            rows = cursor.fetchmany(shown + 1) if shown is not None else cursor.fetchall()
            more = shown is not None and len(rows) > shown
            rows = rows[:shown] if more else rows
            types = [str(column[1]) for column in cursor.description]
            click.echo(tabulate([[short(cell(value)) for value in row] for row in rows],
                                headers=[f"{name}\n{kind}" for name, kind in zip(columns, types)],
                                tablefmt="simple", disable_numparse=True))
            count = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
            click.echo(f"{count} shown, more not shown (--all, --csv or --json for every row)" if more else count)


# -------------------------------------------------------------------------------------- summary

def rising_terms(con: duckdb.DuckDBPyConnection) -> str:
    """The first-ranked text term of each scale on the last day with lists, as one line (a star
    marks a significant one)."""
    rows = con.execute("""
        select feed_date, scale, term, significant, window_count, baseline_count from trending_terms
        where kind = 'text' and rank = 1 and feed_date = (select max(feed_date) from trending_terms where kind = 'text')
        order by window_days
    """).fetchall()
    if not rows:
        return "(none yet)"
    terms = "; ".join(f"{scale}: {term}{' *' if significant else ''} ({window}/{baseline} papers)"
                      for _, scale, term, significant, window, baseline in rows)
    return f"{terms} on {rows[0][0]} (* significant)"


def summary_lines(data_dir: Path) -> list[str]:
    path = data_dir / WAREHOUSE_FILE
    catalog = lake()
    if catalog is None and not path.exists():
        raise click.ClickException(f"no warehouse at {path} yet: run `make run` first")
    where = ([f"warehouse:        {path}",
              f"query copy:       {path.with_name(QUERY_DATABASE)} (open it read-only at any time)"]
             if catalog is None else
             [f"warehouse:        the DuckLake {catalog.metadata}, its files in {catalog.data_path}",
              "                  (attach it from any machine, see the README's \"Scaling out\")"])
    with (connect_read_only(path) if catalog is None else open_for_reading()) as con:
        def count(sql: str) -> int:
            return con.execute(sql).fetchone()[0]

        return [
            f"days loaded:      {count('select count(distinct feed_date) from raw_dumps')}",
            f"dumps:            {count('select count(*) from raw_dumps')}",
            f"entries:          {count('select count(*) from paper_appearances')}",
            f"papers:           {count('select count(*) from papers')}"
            f"  ({count('select count(*) from papers where n_appearances > 1')} seen more than once)",
            f"rejected entries: {count('select count(*) from rejected_entries')}",
            f"rising terms:     {rising_terms(con)}",
            *where,
            f"charts:           {data_dir / 'reports'}",
        ]


@main.command()
def summary() -> None:
    """What the warehouse holds, where it is, and queries to try."""
    click.echo("\n".join(summary_lines(settings.data_dir())))
    click.echo("\nQuery it read-only, for example:")
    click.echo(f"  {COMMAND} paper arxiv:2403.00528")
    for sql in EXAMPLE_QUERIES:
        click.echo(f'  {COMMAND} query "{sql}"')


# ---------------------------------------------------------------------------------------- paper

APPEARANCES_SQL = """
    select a.feed_date, a.source, a.format, d.channel, coalesce(d.origin, a.dump_sha256) as origin, a.position,
           a.match_rule, a.arxiv_id, a.title, a.title_key, a.abstract_key, a.appearance_id
    from paper_appearances a
    left join raw_dumps d on d.sha256 = a.dump_sha256 and d.feed_date = a.feed_date
    where a.paper_id = ?
    order by a.feed_date, a.source, origin, a.position
"""


def resolve_paper_id(con: duckdb.DuckDBPyConnection, given: str) -> str | None:
    """The stored paper id for what a person typed: a paper id, or an arXiv id or URL."""
    candidates = [given]
    arxiv_id = normalize_arxiv_id(given.removeprefix("arxiv:"))
    if arxiv_id:
        candidates.append(f"arxiv:{arxiv_id}")
    for candidate in candidates:
        if con.execute("select 1 from papers where paper_id = ?", [candidate]).fetchone():
            return candidate
    return None


def why(row: dict, earlier: list[dict]) -> str:
    """Why this appearance is this paper, for a person: its rule, and the entry it matched."""
    rule = row["match_rule"]
    meaning = RULE_MEANINGS.get(rule, rule)
    if rule == "arxiv_id":
        return f"{meaning}: {row['arxiv_id']}"
    key = "title_key" if rule in ("title_matches_arxiv", "title") else "abstract_key"
    wanted_id = rule.endswith("arxiv")
    for other in earlier:
        if other[key] == row[key] and other["appearance_id"] != row["appearance_id"] and (
                not wanted_id or other["arxiv_id"]) and (rule != "abstract_matches_titled" or other["title"]):
            return f"{meaning}: as {other['format']} of {other['feed_date']}"
    return f"{meaning} (the first entry of this paper)" if rule in ("title", "abstract") else meaning


@main.command()
@click.argument("paper_id")
def paper(paper_id: str) -> None:
    """A paper's whole history: every appearance (day, source, format, the dump it came from)
    and why it was merged into this paper.

    PAPER_ID is a paper id from the papers table (arxiv:2403.00528, title:..., abstract:...)
    or an arXiv id or URL.
    """
    with open_for_reading() as con:
        found = resolve_paper_id(con, paper_id.strip())
        if found is None:
            raise click.ClickException(
                f"no paper {paper_id!r}; find one with: {COMMAND} query \"select paper_id, title from papers "
                "where title ilike '%word%'\"")
        cursor = con.execute("""
            select paper_id, arxiv_id, title, authors, first_seen_date, last_seen_date, n_appearances, n_days,
                   sources, formats, match_rules, max_upvotes
            from papers where paper_id = ?""", [found])
        record = dict(zip([c[0] for c in cursor.description], cursor.fetchone()))
        cursor = con.execute(APPEARANCES_SQL, [found])
        names = [c[0] for c in cursor.description]
        appearances = [dict(zip(names, row)) for row in cursor.fetchall()]
    authors = ", ".join(record["authors"] or []) or "(not named)"
    click.echo(f"{record['paper_id']}  {record['title'] or '(no title)'}")
    click.echo(f"  authors: {authors}")
    click.echo(f"  seen {record['n_appearances']} times on {record['n_days']} day(s), "
               f"{record['first_seen_date']} to {record['last_seen_date']}; sources: {', '.join(record['sources'])}; "
               f"most upvotes: {record['max_upvotes'] if record['max_upvotes'] is not None else '-'}")
    click.echo(f"  merged by: {', '.join(record['match_rules'])}")
    click.echo()
    table = [[row["feed_date"], row["source"], row["format"],
              f"{row['channel'] or '?'}:{row['origin']} item {row['position']}", row["match_rule"],
              why(row, appearances)] for row in appearances]
    click.echo(tabulate(table, headers=["day", "source", "format", "dump", "match_rule", "why it is this paper"],
                        tablefmt="simple", disable_numparse=True))


# ---------------------------------------------------------------------------------- inbox-range

@main.command("inbox-range")
def inbox_range() -> None:
    """The inbox's first and last day as a Dagster partition range (A...B); folders not named
    YYYY-MM-DD are named on stderr and skipped."""
    inbox = settings.data_dir() / "inbox"
    scan = scan_inbox(inbox)
    if scan.skipped:
        click.echo(f"skipped {len(scan.skipped)} folder(s) of the inbox not named YYYY-MM-DD: "
                   f"{', '.join(scan.skipped)}", err=True)
    if not scan.days:
        raise click.ClickException(f"no day folders in {inbox}")
    click.echo(f"{scan.days[0].isoformat()}...{scan.days[-1].isoformat()}")


# ------------------------------------------------------------------------------------- backfill

def asset_job() -> dg.JobDefinition:
    """Every asset and check of the project as one job, what ``dagster asset materialize --select '*'``
    runs (its steps run in this process, one after another, as the definitions' executor says)."""
    from feed_assets.definitions import build_definitions

    return build_definitions().resolve_implicit_global_asset_job_def()  # for the settings of now


def parse_days(days: str | None) -> tuple[str, str]:
    """``A...B`` or one day (YYYY-MM-DD); none: the inbox's first and last day."""
    if not days:
        scan = scan_inbox(settings.data_dir() / "inbox")
        if not scan.days:
            raise click.UsageError(f"no day folders in {settings.data_dir() / 'inbox'}: name the days (A...B)")
        return scan.days[0].isoformat(), scan.days[-1].isoformat()
    first, _, last = days.partition("...")
    try:
        start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last or first)
    except ValueError:
        raise click.UsageError(f"{days!r} is not a day or a range of days (YYYY-MM-DD...YYYY-MM-DD)") from None
    if end < start:
        raise click.UsageError(f"{days!r} ends before it starts")
    return start.isoformat(), end.isoformat()


def check_lines(evaluations: list, expected: dict[str, str]) -> list[str]:
    """The run's check results: a count line, then each check that did not pass and why it is expected
    when it is."""
    failed = [e for e in evaluations if not e.passed]
    warnings = [e for e in failed if e.severity == dg.AssetCheckSeverity.WARN]
    errors = [e for e in failed if e.severity != dg.AssetCheckSeverity.WARN]
    lines = [f"checks: {len(evaluations) - len(failed)} passed, {len(warnings)} warning(s), {len(errors)} error(s)"]
    for evaluation in sorted(failed, key=lambda e: (e.severity == dg.AssetCheckSeverity.WARN, e.check_name)):
        kind = "warning" if evaluation in warnings else "ERROR"
        description = evaluation.description or ""
        lines.append(f"  {kind}: {evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
                     + (f": {description}" if description else ""))
        if evaluation.check_name in expected:
            lines.append(f"    expected on the bundled sample: {expected[evaluation.check_name]}")
    return lines


@main.command()
@click.argument("days", required=False)
def backfill(days: str | None) -> None:
    """Materialize every asset for DAYS in one Dagster run, one line per step, then the checks.

    DAYS is a range A...B or one day (YYYY-MM-DD); without it, every day of the inbox. The run
    is recorded in the instance at $DAGSTER_HOME (the UI shows it, with Dagster's full event
    log); without DAGSTER_HOME it is not kept.
    """
    import warnings

    from feed_assets.partitions import daily_partitions, range_tags
    from feed_assets.sample_data import EXPECTED_SAMPLE_WARNINGS, is_bundled_sample

    # notices about Dagster's own API maturity, for the project's developers, not for this run
    for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
        warnings.filterwarnings("ignore", category=category)
    start, end = parse_days(days)
    keys = daily_partitions.get_partition_keys()
    for day in (start, end):
        if day not in keys:
            raise click.UsageError(f"{day} is not a partition: they run from {keys[0]} to {keys[-1]} "
                                   "(FEED_START_DATE and FEED_END_DATE, default the first and last day of the "
                                   "inbox or the stored data; to today when a live source is on)")
    persistent = bool(os.environ.get("DAGSTER_HOME"))
    click.echo(f"materializing every asset for {start}...{end} in one run "
               + ("(the UI shows it)" if persistent else "(DAGSTER_HOME is not set: the run is not kept)"))
    if persistent and not (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").exists():
        click.echo("(no dagster.yaml in $DAGSTER_HOME: Dagster's defaults; `make run` copies the project's)")
    with (dg.DagsterInstance.get() if persistent else dg.DagsterInstance.ephemeral()) as instance:
        result = asset_job().execute_in_process(
            instance=instance, raise_on_error=False, run_config={"loggers": {"progress": {}}},
            tags=range_tags(start, end))
        evaluations = result.get_asset_check_evaluations()
    expected = EXPECTED_SAMPLE_WARNINGS if is_bundled_sample(settings.data_dir() / "inbox") else {}
    click.echo("\n".join(check_lines(evaluations, expected)))
    if not result.success:
        raise click.ClickException(f"run {result.run_id} failed: its steps above, its whole log in the UI")
    if teardown_errors := failed_teardowns(result.all_events):
        # Dagster does not fail a run whose resources fail to close; for the warehouse that is
        # the query copy's last publication (the tables themselves are committed)
        raise click.ClickException(
            f"run {result.run_id} wrote every table, but closing its resources failed: {'; '.join(teardown_errors)}. "
            "query.duckdb may lag behind feed.duckdb until the next run's first write publishes it")
    click.echo(f"run {result.run_id} succeeded")


def failed_teardowns(events: list[dg.DagsterEvent]) -> list[str]:
    """The errors of a run's failed resource teardowns (engine events Dagster logs, not failures)."""
    errors = []
    for event in events:
        data = event.event_specific_data if event.event_type_value == "ENGINE_EVENT" else None
        error = getattr(data, "error", None)
        if error is not None and "Teardown of resources" in (event.message or ""):
            cause = error
            while cause.cause is not None and cause.cls_name.startswith("Dagster"):  # the resource's own error
                cause = cause.cause
            errors.append(cause.message.strip())
    return errors


if __name__ == "__main__":
    main(prog_name="feed-assets")
