"""Tests of the pure parsers on small hand-written dumps, one group per feed format."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feed_assets.parsing import (
    FORMATS,
    SOURCE_OF_FORMAT,
    ParseResult,
    UnknownFormatError,
    detect_format,
    parse_dump,
)
from feed_assets.parsing.papers_page import parse_papers_page

FEED_DATE = dt.date(2024, 3, 14)
HEADER = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"


def page(*blocks: str, header: str = HEADER) -> bytes:
    """A papers page dump: the header, then the blocks separated by blank lines."""
    return (header + "\n\n".join(blocks)).encode()


def parse(data: bytes, name: str = "inbox/2024-03-14/dump.txt", feed_date: dt.date = FEED_DATE) -> ParseResult:
    """Parse a dump through the public entry point."""
    return parse_dump(data, name, feed_date)


def assert_positions_contiguous(result: ParseResult) -> None:
    """Entries and item rejections share one numbering 0..n-1, with no gap and no repeat."""
    positions = [e.position for e in result.entries] + [r.position for r in result.rejections if r.position is not None]
    assert sorted(positions) == list(range(len(positions)))


# --- papers page, plain (section 1) ---------------------------------------------------

def test_plain_page_pairs_titles_with_abstracts_and_keeps_tex_ish_titles():
    result = parse(page(
        "Mar 14",
        "Is ell_infty Robustness (Really) Worth It? 2 Lessons from R^d",
        "We study   robustness\tin R^d.",
        "LLaMA-3: 70B Parameters (and 1 GPU)",
        "A second abstract.",
    ))
    assert result.format == "papers_page"
    assert result.declared_date == dt.date(2024, 3, 14)
    assert result.rejections == []
    assert [(e.position, e.location) for e in result.entries] == [(0, "line 11"), (1, "line 15")]
    first, second = result.entries
    assert first.title == "Is ell_infty Robustness (Really) Worth It? 2 Lessons from R^d"
    assert first.abstract == "We study robustness in R^d."
    assert second.title == "LLaMA-3: 70B Parameters (and 1 GPU)"
    assert (first.published_date, first.author_count, first.upvotes, first.comments) == (None, None, None, None)


@pytest.mark.parametrize("daily_papers_line", ["Daily Papers", "[Daily Papers]"])
def test_optional_daily_papers_header_line_is_skipped(daily_papers_line):
    header = HEADER.replace("Subscribe\n\n", f"Subscribe\n\n{daily_papers_line}\n\n")
    result = parse(page("Mar 14", "A Title", "An abstract.", header=header))
    assert [e.title for e in result.entries] == ["A Title"]
    assert result.declared_date == FEED_DATE


def test_page_without_date_line_has_no_declared_date():
    result = parse(page("A Title", "An abstract."))
    assert result.declared_date is None
    assert [e.title for e in result.entries] == ["A Title"]


def test_page_date_is_completed_against_the_feed_date_across_new_year():
    result = parse(page("Dec 31", "A Title", "An abstract."), feed_date=dt.date(2025, 1, 1))
    assert result.declared_date == dt.date(2024, 12, 31)


def test_crlf_line_ends_and_bom_are_tolerated():
    data = b"\xef\xbb\xbf" + page("Mar 14", "A Title", "An abstract.").replace(b"\n", b"\r\n")
    result = parse(data)
    assert result.format == "papers_page"
    assert [(e.title, e.abstract) for e in result.entries] == [("A Title", "An abstract.")]


def test_abstract_spread_over_several_lines_is_one_block():
    result = parse(page("Mar 14", "A Title", "First half\nsecond half."))
    assert result.entries[0].abstract == "First half second half."


def test_title_at_the_end_without_abstract_is_rejected():
    result = parse(page("Mar 14", "A Title", "An abstract.", "Lonely Title"))
    assert [e.title for e in result.entries] == ["A Title"]
    [rejection] = result.rejections
    assert (rejection.position, rejection.location) == (1, "line 15")
    assert "no abstract" in rejection.reason
    assert rejection.excerpt == "Lonely Title"


def test_text_that_is_not_a_papers_page_raises_in_the_direct_parser():
    with pytest.raises(UnknownFormatError):
        parse_papers_page(b"Some title\n\nSome abstract", FEED_DATE)


# --- papers page with metadata (section 2) ---------------------------------------------

METADATA_PAGE = page(
    "Mar 14",
    "Title With Authors",
    "Abstract one.",
    "  • 4 authors\n·\nApr 4, 2023",
    "Title With Organization",
    "Abstract two.",
    "  • Hugging Face\n·\nMar 21 3",
    "Title Without Metadata",
    "Abstract three.",
    "Title With Year And Count",
    "Abstract four.",
    "  • 1 authors\n·\nSep 24, 2023 2",
    "12",
    "Title With Upvotes",
    "Abstract five.",
    "·\nAug 5",
    "7\nUpvotes In The Title Block",
    "Abstract six.",
)


def test_metadata_blocks_fill_their_entry():
    result = parse(METADATA_PAGE)
    assert result.format == "papers_page_metadata"
    assert result.rejections == []
    fields = [(e.title, e.author_count, e.organization, e.published_date, e.comments, e.upvotes)
              for e in result.entries]
    assert fields == [
        ("Title With Authors", 4, None, dt.date(2023, 4, 4), None, None),
        ("Title With Organization", None, "Hugging Face", dt.date(2024, 3, 21), 3, None),
        ("Title Without Metadata", None, None, None, None, None),
        ("Title With Year And Count", 1, None, dt.date(2023, 9, 24), 2, None),
        ("Title With Upvotes", None, None, dt.date(2023, 8, 5), None, 12),
        ("Upvotes In The Title Block", None, None, None, None, 7),
    ]
    assert [e.position for e in result.entries] == list(range(6))


def test_no_year_date_takes_the_year_before_on_a_january_page():
    result = parse(page("Jan 2", "A Title", "An abstract.", "  • 2 authors\n·\nDec 30"),
                   feed_date=dt.date(2025, 1, 2))
    assert result.declared_date == dt.date(2025, 1, 2)
    assert result.entries[0].published_date == dt.date(2024, 12, 30)


def test_no_year_date_uses_the_feed_date_when_the_page_shows_none():
    result = parse(page("A Title", "An abstract.", "·\nMar 1"), feed_date=dt.date(2024, 3, 14))
    assert result.entries[0].published_date == dt.date(2024, 3, 1)


def test_upvote_count_alone_makes_a_page_with_metadata():
    result = parse(page("Mar 14", "3", "A Title", "An abstract."))
    assert result.format == "papers_page_metadata"
    assert result.entries[0].upvotes == 3


def test_metadata_block_with_no_paper_before_it_is_rejected():
    result = parse(page("Mar 14", "  • 4 authors\n·\nApr 4, 2024", "A Title", "An abstract.",
                        "·\nApr 5, 2024", "·\nApr 6, 2024"))
    assert [e.published_date for e in result.entries] == [dt.date(2024, 4, 5)]
    assert [(r.position, r.location) for r in result.rejections] == [(0, "line 11"), (2, "line 22")]
    assert all("no paper before it" in r.reason for r in result.rejections)
    assert result.entries[0].position == 1
    assert_positions_contiguous(result)


def test_title_followed_by_metadata_instead_of_abstract_is_rejected():
    result = parse(page("Mar 14", "Broken Title", "  • 4 authors\n·\nApr 4, 2024", "A Title", "An abstract."))
    [rejection] = result.rejections
    assert (rejection.position, rejection.location, rejection.excerpt) == (0, "line 11", "Broken Title")
    assert "no abstract" in rejection.reason
    assert [(e.position, e.title) for e in result.entries] == [(1, "A Title")]


def test_unreadable_date_keeps_the_entry_and_reports_the_line():
    result = parse(page("Mar 14", "A Title", "An abstract.", "  • 4 authors\n·\nsometime in spring"))
    [entry] = result.entries
    assert (entry.title, entry.author_count, entry.published_date) == ("A Title", 4, None)
    [rejection] = result.rejections
    assert (rejection.position, rejection.location) == (None, "line 17")
    assert "unreadable date" in rejection.reason and "kept" in rejection.reason
    assert rejection.excerpt == "sometime in spring"


def test_metadata_block_without_middle_dot_keeps_the_entry_and_reports_it():
    result = parse(page("Mar 14", "A Title", "An abstract.", "  • 4 authors"))
    assert result.entries[0].author_count == 4
    [rejection] = result.rejections
    assert rejection.position is None and "'·'" in rejection.reason


def test_upvote_count_with_no_title_after_it_is_reported():
    result = parse(page("Mar 14", "A Title", "An abstract.", "5"))
    assert len(result.entries) == 1
    [rejection] = result.rejections
    assert (rejection.position, rejection.location, rejection.excerpt) == (None, "line 15", "5")


# --- abstract list (section 3) ---------------------------------------------------------

def test_abstract_list_one_entry_per_line_without_title():
    data = b"Abstract:Normalizing Flows (NFs) are\tmodels.\nAbstract: A major challenge for transformers."
    result = parse(data, name="inbox/2024-03-14/abstracts.txt")
    assert result.format == "abstract_list"
    assert [(e.position, e.location, e.title, e.abstract) for e in result.entries] == [
        (0, "line 1", None, "Normalizing Flows (NFs) are models."),
        (1, "line 2", None, "A major challenge for transformers."),
    ]
    assert result.rejections == []


def test_abstract_list_rejects_lines_without_prefix_or_text_and_skips_blank_lines():
    data = b"Abstract:One.\r\n\r\nnot an abstract line\r\nAbstract:   \r\nAbstract:Two.\r\n"
    result = parse(data)
    assert [(e.position, e.location, e.abstract) for e in result.entries] == [
        (0, "line 1", "One."), (3, "line 5", "Two.")]
    assert [(r.position, r.location) for r in result.rejections] == [(1, "line 3"), (2, "line 4")]
    assert "prefix" in result.rejections[0].reason and result.rejections[0].excerpt == "not an abstract line"
    assert "empty abstract" in result.rejections[1].reason


# --- Hugging Face daily papers API (section 4) -----------------------------------------

def hf_item(**paper_fields: object) -> dict:
    """An API item with a complete ``paper`` object; keyword arguments override paper fields."""
    paper = {
        "id": "2505.24864",
        "authors": [{"_id": "a1", "name": "Mingjie Liu", "hidden": False}, {"_id": "a2", "name": "Shizhe Diao"}],
        "publishedAt": "2025-05-30T17:59:01.000Z",
        "title": "ProRL: Prolonged RL Expands Reasoning Boundaries in\n  Large Language Models",
        "summary": "Recent advances\nin reasoning.",
        "upvotes": 38,
        "ai_keywords": ["reinforcement learning", "ProRL"],
        "organization": {"name": "nvidia", "fullname": "NVIDIA"},
    }
    paper.update(paper_fields)
    return {"paper": paper, "publishedAt": "2025-06-02T00:00:00.000Z", "title": "item title",
            "summary": "item summary", "numComments": 3}


def hf_dump(*items: object) -> bytes:
    """An API response body holding the items."""
    return json.dumps(list(items)).encode()


def test_hf_item_fields_are_normalized():
    result = parse(hf_dump(hf_item()), name="hf/2025-06-02.json")
    assert result.format == "hf_daily_papers" and result.rejections == []
    [entry] = result.entries
    assert (entry.position, entry.location) == (0, "item 1")
    assert entry.arxiv_id == "2505.24864"
    assert entry.title == "ProRL: Prolonged RL Expands Reasoning Boundaries in Large Language Models"
    assert entry.abstract == "Recent advances in reasoning."
    assert entry.authors == ("Mingjie Liu", "Shizhe Diao") and entry.author_count == 2
    assert entry.published_date == dt.date(2025, 5, 30)
    assert (entry.upvotes, entry.comments) == (38, 3)
    assert entry.keywords == ("reinforcement learning", "ProRL")
    assert entry.organization == "NVIDIA"


def test_hf_item_falls_back_to_item_title_summary_and_organization():
    item = hf_item(title="", summary=None, id="2403.01234v2", organization=None)
    del item["paper"]["ai_keywords"], item["paper"]["upvotes"], item["paper"]["authors"]
    item["organization"] = {"name": "acme"}
    [entry] = parse(hf_dump(item)).entries
    assert (entry.title, entry.abstract, entry.arxiv_id) == ("item title", "item summary", "2403.01234")
    assert (entry.organization, entry.keywords, entry.upvotes, entry.authors, entry.author_count) == (
        "acme", (), None, (), None)


def test_hf_rejects_repr_strings_non_objects_and_items_without_text():
    item_without_text = {"paper": {"id": "2505.00001"}, "numComments": 0}
    data = hf_dump(hf_item(), "{'paper': {'id': '2412.07730', 'hidden': False}}", 42, item_without_text, hf_item())
    result = parse(data)
    assert [e.position for e in result.entries] == [0, 4]
    assert [(r.position, r.location) for r in result.rejections] == [(1, "item 2"), (2, "item 3"), (3, "item 4")]
    reasons = [r.reason for r in result.rejections]
    assert reasons[0] == "item is a Python repr string, not a JSON object"
    assert "number" in reasons[1] and "neither a title nor an abstract" in reasons[2]
    assert result.rejections[0].excerpt.startswith("{'paper'")


def test_hf_truncated_json_gives_one_rejection_and_no_entries():
    data = b'[\n  {"paper": {"id": "2505.24864",\n   "title": "ProR'
    assert detect_format(data, "hf/2025-06-02.json") == "hf_daily_papers"
    result = parse(data)
    assert result.entries == []
    [rejection] = result.rejections
    assert rejection.position is None
    assert rejection.location.startswith("line 3 column ")
    assert rejection.reason.startswith("invalid JSON: ")


def test_hf_json_that_is_not_an_array_gives_one_rejection():
    result = parse_dump(b'{"error": "rate limited"}', "hf/2025-06-02.json", FEED_DATE)
    assert result.format == "hf_daily_papers" and result.entries == []
    [rejection] = result.rejections
    assert rejection.position is None and "not a JSON array" in rejection.reason


def test_hf_envelope_object_with_data_array_is_read_item_by_item():
    data = json.dumps({"status": "success", "date": "2025-01-10", "count": 2,
                       "data": [hf_item(), "{'paper': {}}"]}, indent=4).encode()
    result = parse(data, name="hf/2025-01-10.json")
    assert result.format == "hf_daily_papers"
    assert [e.position for e in result.entries] == [0]
    assert [(r.position, r.location) for r in result.rejections] == [(1, "item 2")]


def test_hf_empty_array_is_an_empty_day():
    result = parse(b"[]", name="hf/2025-06-07.json")
    assert (result.format, result.entries, result.rejections) == ("hf_daily_papers", [], [])


def test_hf_paper_id_that_is_not_an_arxiv_id_keeps_the_entry_and_reports_it():
    result = parse(hf_dump(hf_item(id="not-an-id")))
    assert result.entries[0].arxiv_id is None
    [rejection] = result.rejections
    assert rejection.position is None and "not an arXiv id" in rejection.reason


# --- arXiv listing, JSON lines (section 5) ---------------------------------------------

def arxiv_line(**fields: object) -> str:
    """One listing line; keyword arguments override the fields."""
    record = {"id": "2505.23969v2", "authors": ["Otman Benchekroun", "Eitan Grinspun"],
              "title": "Force-Dual Modes:\n Subspace Design", "categories": ["cs.GR", "cs.LG"],
              "comment": None, "summary": "Designing subspaces\naccelerating things."}
    record.update(fields)
    return json.dumps(record)


def test_arxiv_listing_fields_are_normalized():
    data = "\n".join([arxiv_line(), arxiv_line(id="math/0601001v1", comment="14 pages")]).encode()
    result = parse(data, name="arxiv/2025-05-30.jsonl")
    assert result.format == "arxiv_listing" and result.rejections == []
    first, second = result.entries
    assert (first.position, first.location, first.arxiv_id) == (0, "line 1", "2505.23969")
    assert first.title == "Force-Dual Modes: Subspace Design"
    assert first.abstract == "Designing subspaces accelerating things."
    assert first.authors == ("Otman Benchekroun", "Eitan Grinspun") and first.author_count == 2
    assert first.categories == ("cs.GR", "cs.LG")
    assert second.arxiv_id == "math/0601001"


def test_arxiv_listing_rejections_and_blank_lines():
    lines = [arxiv_line(), "", '{"id": "2505.00001", "title": "Trunc', "[1, 2]",
             json.dumps({"id": "2505.00002", "authors": []}), "   ", arxiv_line(id="2505.00003")]
    result = parse("\r\n".join(lines).encode(), name="arxiv/2025-05-30.jsonl")
    assert [(e.position, e.location, e.arxiv_id) for e in result.entries] == [
        (0, "line 1", "2505.23969"), (4, "line 7", "2505.00003")]
    assert [(r.position, r.location) for r in result.rejections] == [(1, "line 3"), (2, "line 4"), (3, "line 5")]
    reasons = [r.reason for r in result.rejections]
    assert reasons[0].startswith("invalid JSON") and "not an object" in reasons[1]
    assert "neither a title nor a summary" in reasons[2]
    assert_positions_contiguous(result)


def test_arxiv_listing_id_that_is_not_an_arxiv_id_keeps_the_entry_and_reports_it():
    result = parse(arxiv_line(id="hal-01234").encode(), name="arxiv/x.jsonl")
    assert result.entries[0].arxiv_id is None and result.entries[0].title
    [rejection] = result.rejections
    assert (rejection.position, rejection.location) == (None, "line 1")
    assert "not an arXiv id" in rejection.reason


def test_arxiv_listing_without_id_keeps_the_entry_silently():
    result = parse(arxiv_line(id=None).encode(), name="arxiv/x.jsonl")
    assert result.entries[0].arxiv_id is None and result.rejections == []


# --- detection and dispatch --------------------------------------------------------------

@pytest.mark.parametrize(("data", "name", "expected"), [
    (page("Mar 14", "T", "A"), "x.txt", "papers_page"),
    (page("Mar 14", "T", "A", "·\nApr 4"), "x.txt", "papers_page_metadata"),
    (page("Mar 14", "T", "A", "  • Some Lab\n·\nApr 4"), "x.html", "papers_page_metadata"),
    (b"Abstract:x", "x.dat", "abstract_list"),
    (b"\n\nAbstract:x\n", "x.json", "abstract_list"),
    (b"[]", "x.txt", "hf_daily_papers"),
    (b'[{"paper": ', "x.json", "hf_daily_papers"),
    (b'{\n  "data": []\n}', "x", "hf_daily_papers"),
    (b'{"status": "success", "data": []}', "x.jsonl", "hf_daily_papers"),
    (arxiv_line().encode(), "x.json", "arxiv_listing"),
    (b'{"id": "2505.1', "x.jsonl", "arxiv_listing"),
    (b'{"id": "2505.1', "x", "arxiv_listing"),
    (b'{"id": "2505.1', "x.json", "hf_daily_papers"),
    (b'{"error": "rate limited"}', "x.json", "hf_daily_papers"),
    (b'{"error": "rate limited"}', "x.jsonl", "arxiv_listing"),
    (b"", "inbox/2024-03-14/empty.jsonl", "arxiv_listing"),
    (b"\n", "inbox/2024-03-14/empty.json", "hf_daily_papers"),
])
def test_detect_format(data, name, expected):
    assert detect_format(data, name) == expected


def test_unknown_format_names_the_file_and_its_first_line():
    with pytest.raises(UnknownFormatError) as raised:
        detect_format(b"\nid,title\n1,foo\n", "inbox/2024-03-01/foo.csv")
    assert str(raised.value) == "inbox/2024-03-01/foo.csv: not a known feed format (first line: 'id,title')"


def test_page_without_its_header_is_unknown():
    with pytest.raises(UnknownFormatError, match="dump.txt"):
        parse(b"Mar 14\n\nA Title\n\nAn abstract.")


def test_undecodable_bytes_name_the_file_and_offset():
    with pytest.raises(UnknownFormatError) as raised:
        parse_dump(b"Abstract:caf\xe9", "inbox/2024-03-01/latin1.txt", FEED_DATE)
    assert "inbox/2024-03-01/latin1.txt" in str(raised.value) and "byte offset 12" in str(raised.value)


def test_empty_text_file_is_unknown_and_empty_jsonl_is_an_empty_listing():
    with pytest.raises(UnknownFormatError, match="empty.txt: empty file"):
        parse(b"", name="inbox/2024-03-14/empty.txt")
    result = parse(b"", name="inbox/2024-03-14/empty.jsonl")
    assert (result.format, result.entries, result.rejections) == ("arxiv_listing", [], [])
    assert len(parse(b"", name="inbox/2024-03-14/empty.json").rejections) == 1


def test_every_format_has_a_source():
    assert set(FORMATS) == {"papers_page", "papers_page_metadata", "abstract_list", "hf_daily_papers",
                            "arxiv_listing", "arxiv_atom"}
    assert SOURCE_OF_FORMAT == {
        "papers_page": "huggingface", "papers_page_metadata": "huggingface", "hf_daily_papers": "huggingface",
        "arxiv_listing": "arxiv", "arxiv_atom": "arxiv", "abstract_list": "abstract_list"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_raise_unknown_format(data):
    try:
        result = parse(data)
    except UnknownFormatError:
        return
    assert result.format in FORMATS
    assert_positions_contiguous(result)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["A Title", "An abstract.", "  • 3 authors", "  • Lab", "·", "Apr 4",
                                 "Dec 30, 2023 4", "bad date", "12", ""]), max_size=25))
def test_any_page_body_parses_with_contiguous_positions(lines):
    result = parse(page("Mar 14", "\n".join(lines)))
    assert result.format in ("papers_page", "papers_page_metadata")
    assert_positions_contiguous(result)
