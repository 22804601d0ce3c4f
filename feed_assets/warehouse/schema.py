"""Every table of the warehouse, in one place. Nothing else in the project writes DDL.

Tables have no PRIMARY KEY constraints on purpose: each partition is replaced with a
delete then an insert inside one transaction, which DuckDB's eager unique-constraint
checks can refuse; uniqueness is instead guaranteed by that write pattern and checked by
tests (and by asset checks in the UI).
"""

from __future__ import annotations

import duckdb

TABLES: dict[str, str] = {
    "raw_dumps": """
        create table if not exists raw_dumps (
            feed_date    date      not null,  -- the daily partition the dump belongs to
            channel      varchar   not null,  -- how it arrived: 'inbox' or 'http'
            origin       varchar   not null,  -- file name in the inbox, or the URL fetched
            source       varchar   not null,  -- the feed: 'huggingface', 'arxiv', 'abstract_list'
            format       varchar   not null,  -- the detected format (see FEED_FORMATS.md)
            sha256       varchar   not null,  -- content address of the raw bytes
            size_bytes   bigint    not null,
            raw_path     varchar   not null,  -- where the bytes are kept, forever (relative to $FEED_DATA_DIR)
            stored_at    timestamp not null   -- when these bytes first entered the raw store
        )""",
    "paper_appearances": """
        create table if not exists paper_appearances (
            appearance_id  varchar not null,  -- '<feed_date>:<dump sha256 prefix>:<position>'
            feed_date      date    not null,
            source         varchar not null,
            format         varchar not null,
            dump_sha256    varchar not null,
            position       integer not null,  -- 0-based index of the item in its dump
            paper_id       varchar,           -- the paper this entry is (see identity.rules)
            match_rule     varchar,           -- the identity rule that decided paper_id
            arxiv_id       varchar,           -- without version
            title          varchar,
            abstract       varchar,
            authors        varchar[],
            author_count   integer,
            organization   varchar,
            published_date date,
            upvotes        integer,
            comments       integer,
            categories     varchar[],
            keywords       varchar[],
            page_date      date,              -- the date the dump itself shows, if any
            title_key      varchar,           -- normalized title used for matching
            abstract_key   varchar            -- hash of the normalized abstract used for matching
        )""",
    "rejected_entries": """
        create table if not exists rejected_entries (
            feed_date    date    not null,
            source       varchar not null,
            format       varchar not null,
            dump_sha256  varchar not null,
            origin       varchar not null,   -- file name or URL of the dump
            position     integer,            -- index of the item in its dump; null for the whole dump
            location     varchar not null,   -- 'line 17', 'item 4', ...
            reason       varchar not null,
            excerpt      varchar not null
        )""",
    "papers": """
        create table if not exists papers (
            paper_id         varchar not null,
            arxiv_id         varchar,
            title            varchar,
            abstract         varchar,
            authors          varchar[],
            first_seen_date  date    not null,
            last_seen_date   date    not null,
            n_appearances    integer not null,
            n_days           integer not null,
            sources          varchar[] not null,
            formats          varchar[] not null,
            match_rules      varchar[] not null,
            max_upvotes      integer
        )""",
    "daily_feed_stats": """
        create table if not exists daily_feed_stats (
            feed_date       date    not null,
            source          varchar not null,
            dumps           integer not null,
            entries         integer not null,
            new_papers      integer not null,  -- papers first seen on this day (any source)
            repeat_papers   integer not null,  -- papers listed this day but first seen before
            rejected        integer not null
        )""",
    "fetch_log": """
        create table if not exists fetch_log (  -- append-only: every HTTP response, good or bad
            feed_date    date      not null,
            source       varchar   not null,  -- 'huggingface' or 'arxiv'
            url          varchar   not null,
            status       integer,             -- null when no response came back
            attempts     integer   not null,
            outcome      varchar   not null,  -- 'ok' or 'error'
            problem      varchar,             -- what was wrong, for 'error'
            sha256       varchar,             -- the body in the raw store, when there was one
            size_bytes   bigint,
            headers      json,                -- content type, length, etag, date, retry-after
            fetched_at   timestamp not null
        )""",
    "trend_day_totals": """
        create table if not exists trend_day_totals (
            feed_date   date    not null,
            new_papers  integer not null   -- papers first seen that day: the denominator of shares
        )""",
    "term_daily_counts": """
        create table if not exists term_daily_counts (
            feed_date  date    not null,
            kind       varchar not null,   -- 'text' (title and abstract), 'keyword' (HF ai_keywords), 'category'
            term       varchar not null,
            papers     integer not null    -- distinct papers first seen that day that use the term
        )""",
    "trending_terms": """
        create table if not exists trending_terms (
            feed_date       date    not null,
            kind            varchar not null,
            term            varchar not null,
            rank            integer not null,  -- 1 = strongest, within the day and kind
            score           double  not null,  -- effect size: log-odds ratio of window vs baseline share
            p_value         double  not null,  -- exact conditional binomial test, one-sided
            q_value         double  not null,  -- Benjamini-Hochberg, across the day's tested terms of the kind
            window_count    integer not null,  -- papers using the term in the trailing window
            baseline_count  integer not null,  -- papers using it in the baseline before the window
            window_share    double  not null,
            baseline_share  double  not null,
            window_papers   integer not null,
            baseline_papers integer not null
        )""",
    "top_papers": """
        create table if not exists top_papers (
            period          varchar not null,  -- 'day' or 'week' (ISO week, starting Monday)
            period_start    date    not null,
            rank            integer not null,
            paper_id        varchar not null,
            title           varchar,
            arxiv_url       varchar,
            upvotes         integer not null,  -- as last seen
            upvote_history  struct(feed_date date, upvotes integer)[] not null  -- every fetch that saw it
        )""",
    "author_activity": """
        create table if not exists author_activity (
            feed_date  date    not null,
            author     varchar not null,
            papers     integer not null     -- papers first seen that day that list the author
        )""",
    "category_trends": """
        create table if not exists category_trends (
            feed_date  date    not null,
            category   varchar not null,
            papers     integer not null,    -- papers first seen that day in the category
            share      double  not null     -- of the papers first seen that day
        )""",
    "refresh_queue": """
        create table if not exists refresh_queue (
            target  varchar not null,  -- the table to refresh (see warehouse.queue)
            key     varchar not null   -- a paper_id or a feed_date
        )""",
}

# Every lookup a day's write makes goes through one of these (DuckDB answers `col in
# (select ...)` and `update ... from` joins on an indexed column with index scans), which is
# what keeps a day's cost flat as the history grows.
INDEXES: tuple[str, ...] = (
    "create index if not exists paper_appearances_appearance_id on paper_appearances (appearance_id)",
    "create index if not exists paper_appearances_feed_date on paper_appearances (feed_date)",
    "create index if not exists paper_appearances_paper_id on paper_appearances (paper_id)",
    "create index if not exists paper_appearances_arxiv_id on paper_appearances (arxiv_id)",
    "create index if not exists paper_appearances_title_key on paper_appearances (title_key)",
    "create index if not exists paper_appearances_abstract_key on paper_appearances (abstract_key)",
    "create index if not exists papers_paper_id on papers (paper_id)",
    "create index if not exists papers_first_seen_date on papers (first_seen_date)",
    "create index if not exists term_daily_counts_feed_date on term_daily_counts (feed_date)",
    "create index if not exists trending_terms_feed_date on trending_terms (feed_date)",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table and index that does not exist yet (safe to call on every run)."""
    for ddl in TABLES.values():
        con.execute(ddl)
    for ddl in INDEXES:
        con.execute(ddl)
