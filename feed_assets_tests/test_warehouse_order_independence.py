"""The warehouse write pattern: loading days in any order, and re-loading them, gives the same tables.

Runs the real SQL on a real DuckDB database; the expected identities come from the pure
reference rules in ``identity.rules`` applied to the whole history at once.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feed_assets.identity.rules import IdentityKeys
from feed_assets.parsing import Entry, ParseResult
from feed_assets.warehouse.connection import prepare
from feed_assets.warehouse.derived import refresh_daily_feed_stats, refresh_papers
from feed_assets.warehouse.rows import RangeRows, range_rows
from feed_assets.warehouse.writes import replace_entries, transaction
from feed_assets_tests.identity_reference import resolve

DAY0 = dt.date(2024, 3, 4)

# A small world of papers, and the ways each format lists them.
PAPERS = [
    {"arxiv_id": "2403.00001", "title": "Alpha: Learning\n  to Learn", "abstract": "Alpha abstract. We learn."},
    {"arxiv_id": "2403.00002", "title": "Introduction", "abstract": "Beta abstract, first."},
    {"arxiv_id": "2403.00003", "title": "Introduction", "abstract": "Gamma abstract, second."},
    {"arxiv_id": None, "title": "Delta (a survey?)", "abstract": "Delta abstract."},
    {"arxiv_id": None, "title": None, "abstract": "Epsilon abstract seen only in lists."},
]
FORMATS = ["arxiv_listing", "hf_daily_papers", "papers_page", "papers_page_metadata", "abstract_list"]
# ways of listing: each is a real format; "page_copy" pages carry an abstract of their own,
# and "page_copy_abstract" lists that abstract alone, so it reaches the arXiv paper only
# through the page's title (identity's second hop)
WAYS = FORMATS + ["page_copy", "page_copy_abstract"]
FORMAT_OF_WAY = {**{f: f for f in FORMATS}, "page_copy": "papers_page", "page_copy_abstract": "abstract_list"}


def listing(paper: dict, fmt: str, position: int) -> Entry | None:
    """How ``fmt`` would list ``paper`` (None when that format cannot list it)."""
    copied_abstract = f"{paper['abstract']} Copied from a page of {paper['title']}."
    if fmt == "page_copy":
        return Entry(position, f"line {position + 1}", paper["title"], copied_abstract) if paper["title"] else None
    if fmt == "page_copy_abstract":
        return Entry(position, f"line {position + 1}", None, copied_abstract)
    has_id = fmt in ("arxiv_listing", "hf_daily_papers")
    if has_id and not paper["arxiv_id"]:
        return None
    if fmt == "abstract_list":
        return Entry(position, f"line {position + 1}", None, paper["abstract"].upper())
    if fmt == "papers_page_metadata" and paper["title"]:
        # a page that renamed the paper: only the abstract ties it to the others
        return Entry(position, f"line {position + 1}", paper["title"] + " (v2 title)", paper["abstract"])
    if not paper["title"]:
        return None
    return Entry(position, f"item {position + 1}", " ".join(paper["title"].split()).lower() if not has_id
                 else paper["title"], paper["abstract"], arxiv_id=paper["arxiv_id"] if has_id else None,
                 upvotes=position)


def day_rows(days: dict[int, list[tuple[int, str]]]) -> RangeRows:
    dumps = []
    for day, items in days.items():
        for way in WAYS:
            entries = [e for e in (listing(PAPERS[p], f, i) for i, (p, f) in enumerate(items) if f == way) if e]
            if entries:
                sha = f"{day:02d}{way}".ljust(64, "0")
                dumps.append((DAY0 + dt.timedelta(days=day), sha, way, ParseResult(FORMAT_OF_WAY[way], entries)))
    return range_rows(dumps)


def load(con, days: dict[int, list[tuple[int, str]]]) -> None:
    """Replace the given days' entries in one range write, as a run over those days does."""
    rows = day_rows(days)
    with transaction(con):
        replace_entries(con, [DAY0 + dt.timedelta(days=day) for day in days], rows.appearance_table(),
                        rows.rejection_table())


def refresh(con) -> None:
    with transaction(con):
        refresh_papers(con)
        refresh_daily_feed_stats(con)


def snapshot(con) -> dict[str, list[tuple]]:
    return {
        "papers": con.execute("select * from papers order by paper_id").fetchall(),
        "appearances": con.execute(
            "select appearance_id, paper_id, match_rule from paper_appearances order by appearance_id").fetchall(),
        "stats": con.execute("select * from daily_feed_stats order by feed_date, source").fetchall(),
    }


def fresh_warehouse():
    return prepare(duckdb.connect())


item = st.tuples(st.integers(0, len(PAPERS) - 1), st.sampled_from(WAYS))
history = st.dictionaries(st.integers(0, 5), st.lists(item, min_size=1, max_size=6), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=history, data=st.data())
def test_any_load_order_with_reruns_gives_the_same_tables(history, data):
    days = sorted(history)
    order = data.draw(st.permutations(days), label="load order")
    reruns = data.draw(st.lists(st.sampled_from(days), max_size=3), label="re-run days")
    refresh_between = data.draw(st.booleans(), label="refresh after each day")

    ranges = data.draw(st.lists(st.integers(1, 3), min_size=len(order), max_size=len(order)),
                       label="days per run")

    reference = fresh_warehouse()
    load(reference, history)  # the whole history in one range run
    refresh(reference)

    shuffled = fresh_warehouse()
    runs = []
    remaining = list(order)
    for size in ranges:
        if remaining:
            runs.append(remaining[:size])
            remaining = remaining[size:]
    for run in runs + [[day] for day in reruns]:
        load(shuffled, {day: history[day] for day in run})
        if refresh_between:
            refresh(shuffled)
    refresh(shuffled)

    expected = snapshot(reference)
    assert snapshot(shuffled) == expected

    # and the incremental identities are those of the rules applied to the whole history at once
    rows = reference.execute(
        "select arxiv_id, title_key, abstract_key, paper_id, match_rule from paper_appearances").fetchall()
    oracle = resolve([IdentityKeys(a, t, b) for a, t, b, _, _ in rows])
    assert [(r.paper_id, r.match_rule) for r in oracle] == [(p, m) for *_, p, m in rows]


def test_a_day_removed_from_history_leaves_no_trace():
    con = fresh_warehouse()
    load(con, {0: [(0, "papers_page"), (3, "papers_page")]})
    load(con, {1: [(0, "arxiv_listing")]})
    refresh(con)
    assert con.execute("select paper_id, match_rule from paper_appearances where feed_date = ? and position = 0",
                       [DAY0]).fetchone() == ("arxiv:2403.00001", "title_matches_arxiv")
    load(con, {1: []})  # the arXiv day is re-run and now lists nothing
    refresh(con)
    ids = {row[0] for row in con.execute("select paper_id from papers").fetchall()}
    assert "arxiv:2403.00001" not in ids
    assert all(paper_id.startswith("title:") for paper_id in ids)
    assert con.execute("select min(first_seen_date) from papers").fetchone()[0] == DAY0


def test_a_failed_day_write_leaves_the_previous_state(tmp_path):
    con = prepare(duckdb.connect(str(tmp_path / "feed.duckdb")))
    load(con, {0: [(0, "arxiv_listing"), (3, "papers_page")]})
    refresh(con)
    before = snapshot(con)
    rows = day_rows({0: [(1, "arxiv_listing")]})
    appearances = rows.appearance_table()
    formats = appearances["format"].to_pylist()
    formats[0] = None  # violates NOT NULL in the middle of the write
    appearances = appearances.set_column(appearances.schema.get_field_index("format"), "format",
                                         pa.array(formats, pa.string()))
    with pytest.raises(duckdb.ConstraintException), transaction(con):
        replace_entries(con, [DAY0], appearances, rows.rejection_table())
    refresh(con)
    assert snapshot(con) == before


def test_an_abstract_follows_its_page_to_the_arxiv_paper_that_arrives_later():
    con = fresh_warehouse()
    load(con, {0: [(0, "page_copy_abstract")]})
    load(con, {1: [(0, "page_copy")]})
    load(con, {2: [(0, "arxiv_listing")]})
    refresh(con)
    rules = con.execute("select feed_date, paper_id, match_rule from paper_appearances order by feed_date").fetchall()
    assert [(paper_id, rule) for _, paper_id, rule in rules] == [
        ("arxiv:2403.00001", "abstract_matches_titled"),
        ("arxiv:2403.00001", "title_matches_arxiv"),
        ("arxiv:2403.00001", "arxiv_id"),
    ]
    assert con.execute("select count(*) from papers").fetchone()[0] == 1


def test_stats_count_new_and_repeat_papers_whatever_the_order():
    con = fresh_warehouse()
    load(con, {2: [(0, "arxiv_listing"), (3, "papers_page")]})
    load(con, {0: [(0, "hf_daily_papers")]})
    refresh(con)
    stats = {(row[0], row[1]): row for row in con.execute("select * from daily_feed_stats").fetchall()}
    later_arxiv = stats[(DAY0 + dt.timedelta(days=2), "arxiv")]
    assert later_arxiv[3:6] == (1, 0, 1)  # one entry, not new (seen on day 0), a repeat
    assert stats[(DAY0, "huggingface")][3:6] == (1, 1, 0)
