"""Small command-line helpers: ``python -m feed_assets.cli {inbox-range,summary,query SQL}``."""

from __future__ import annotations

import argparse
import sys

import duckdb

from feed_assets import settings
from feed_assets.resources import WAREHOUSE_FILE
from feed_assets.sources.inbox import scan_inbox
from feed_assets.warehouse.publish import QUERY_DATABASE

EXAMPLE_QUERIES = (
    "select paper_id, title, sources, n_appearances, first_seen_date from papers "
    "order by n_appearances desc limit 5",
    "select feed_date, source, entries, new_papers, repeat_papers, rejected from daily_feed_stats "
    "order by feed_date, source",
)


def inbox_range() -> int:
    """Print the inbox's first and last day as a Dagster partition range (``A...B``); say on
    stderr which folders were skipped because they are not named YYYY-MM-DD."""
    scan = scan_inbox(settings.data_dir() / "inbox")
    days = scan.days
    if scan.skipped:
        print(f"skipped {len(scan.skipped)} folder(s) of the inbox not named YYYY-MM-DD: {', '.join(scan.skipped)}",
              file=sys.stderr)
    if not days:
        print(f"no day folders in {settings.data_dir() / 'inbox'}", file=sys.stderr)
        return 1
    print(f"{days[0].isoformat()}...{days[-1].isoformat()}")
    return 0


def summary() -> int:
    """Print what the warehouse holds, where it is, and two queries to try."""
    path = settings.data_dir() / WAREHOUSE_FILE
    with duckdb.connect(str(path), read_only=True) as con:
        def count(sql: str) -> int:
            return con.execute(sql).fetchone()[0]

        lines = [
            f"days loaded:      {count('select count(distinct feed_date) from raw_dumps')}",
            f"dumps:            {count('select count(*) from raw_dumps')}",
            f"entries:          {count('select count(*) from paper_appearances')}",
            f"papers:           {count('select count(*) from papers')}"
            f"  ({count('select count(*) from papers where n_appearances > 1')} seen more than once)",
            f"rejected entries: {count('select count(*) from rejected_entries')}",
            f"rising terms:     {rising_terms(con)}",
            f"warehouse:        {path}",
            f"query copy:       {path.with_name('query.duckdb')} (open it read-only at any time)",
            f"charts:           {settings.data_dir() / 'reports'}",
        ]
    print("\n".join(lines))
    print("\nQuery it read-only, for example:")
    for sql in EXAMPLE_QUERIES:
        print(f'  .venv/bin/python -m feed_assets.cli query "{sql}"')
    return 0


def rising_terms(con: duckdb.DuckDBPyConnection) -> str:
    """The strongest rising text terms of the last day that has any, as one line."""
    rows = con.execute("""
        select feed_date, term, window_count, baseline_count from trending_terms
        where kind = 'text' and feed_date = (select max(feed_date) from trending_terms where kind = 'text')
        order by rank limit 3
    """).fetchall()
    if not rows:
        return "(none yet)"
    terms = ", ".join(f"{term} ({window}/{baseline} papers)" for _, term, window, baseline in rows)
    return f"{terms} on {rows[0][0]}"


def query(sql: str) -> int:
    """Run one SQL statement, read-only, on the published query copy (open during runs too)
    or, before anything was published, on the warehouse; print the result as a table."""
    path = settings.data_dir() / QUERY_DATABASE
    if not path.exists():
        path = settings.data_dir() / WAREHOUSE_FILE
    with duckdb.connect(str(path), read_only=True) as con:
        con.sql(sql).show(max_width=200)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feed_assets.cli", description=__doc__)
    parser.add_argument("command", choices=["inbox-range", "summary", "query"])
    parser.add_argument("sql", nargs="?", help="the statement to run, for 'query'")
    args = parser.parse_args(argv)
    if args.command == "query":
        if not args.sql:
            parser.error("query needs a SQL statement")
        return query(args.sql)
    return inbox_range() if args.command == "inbox-range" else summary()


if __name__ == "__main__":
    sys.exit(main())
