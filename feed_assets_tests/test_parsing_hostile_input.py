"""Hostile input found by an adversarial review: every case must become a Rejection naming the
place and the reason (or UnknownFormatError naming the file), never a crash, and the rest of
the dump must still load."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from feed_assets.parsing import JsonProblem, UnknownFormatError, load_json, parse_dump
from feed_assets.parsing.safe_json import MAX_ITEM_DEPTH

FEED_DATE = dt.date(2024, 3, 14)
HEADER = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
DEEP = 100_000


def hf_item(title: str = "A title", **paper: object) -> dict:
    return {"paper": {"id": "2403.00001", "title": title, "summary": "An abstract.", "upvotes": 3, **paper},
            "title": title, "numComments": 1}


def parse(data: bytes, name: str = "inbox/2024-03-14/dump.json"):
    return parse_dump(data, name, FEED_DATE)


def page(*blocks: str) -> bytes:
    return (HEADER + "\n\n".join(blocks)).encode()


# --- 1. deep nesting, lone surrogates, counts beyond 32 bits --------------------------------

def test_load_json_turns_every_failure_into_a_json_problem():
    with pytest.raises(JsonProblem, match="nested too deeply"):
        load_json("[" * DEEP + "]" * DEEP)
    with pytest.raises(JsonProblem, match="unreadable JSON value"):
        load_json("[" + "9" * 5000 + "]")
    with pytest.raises(JsonProblem) as raised:
        load_json('[1,\n 2')
    assert raised.value.location.startswith("line 2 column ")
    assert load_json(b'{"a": [1]}') == {"a": [1]}


@pytest.mark.parametrize("body", ["[" * DEEP + "]" * DEEP, '{"data": ' + "[" * DEEP + "]" * DEEP + "}",
                                  '[{"paper": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}]"])
def test_json_nested_100000_deep_is_one_rejection_of_the_dump(body):
    result = parse(body.encode())
    assert result.format == "hf_daily_papers" and result.entries == []
    [rejection] = result.rejections
    assert rejection.position is None and "nested too deeply" in rejection.reason


def test_an_item_nested_deeper_than_the_limit_is_rejected_and_the_rest_load():
    deep = {"paper": {"title": "Deep"}, "extra": json.loads("[" * (MAX_ITEM_DEPTH + 5) + "]" * (MAX_ITEM_DEPTH + 5))}
    result = parse(json.dumps([hf_item("First"), deep, hf_item("Third")]).encode())
    assert [e.title for e in result.entries] == ["First", "Third"]
    [rejection] = result.rejections
    assert (rejection.position, rejection.location) == (1, "item 2")
    assert f"more than {MAX_ITEM_DEPTH} levels" in rejection.reason


def test_a_deeply_nested_json_line_is_rejected_and_the_listing_goes_on():
    good = json.dumps({"id": "2403.00001", "title": "Good", "summary": "S."})
    deep = '{"id": "2403.00002", "title": ' + "[" * DEEP + "]" * DEEP + "}"
    result = parse("\n".join([good, deep, good]).encode(), name="arxiv/x.jsonl")
    assert [e.location for e in result.entries] == ["line 1", "line 3"]
    [rejection] = result.rejections
    assert (rejection.position, rejection.location) == (1, "line 2") and "nested too deeply" in rejection.reason


@pytest.mark.parametrize("brackets_in_text", ["", "[[{{" * 20])
def test_a_listing_line_is_rejected_for_nesting_exactly_when_it_is_deeper_than_the_limit(brackets_in_text):
    """The depth is only walked when the line holds more brackets than the limit: lines at the
    limit, one under and one over, with and without brackets inside their strings."""
    def line(number: int, depth: int) -> str:  # the object itself is one level
        nested = "[" * (depth - 1) + "]" * (depth - 1)
        return (f'{{"id": "2403.{number:05d}", "title": "T {brackets_in_text}", "summary": "S.", '
                f'"extra": {nested or "0"}}}')

    depths = [MAX_ITEM_DEPTH - 1, MAX_ITEM_DEPTH, MAX_ITEM_DEPTH + 1]
    result = parse("\n".join(line(n, d) for n, d in enumerate(depths, start=1)).encode(), name="arxiv/x.jsonl")
    assert [e.location for e in result.entries] == ["line 1", "line 2"]
    [rejection] = result.rejections
    assert rejection.location == "line 3" and f"more than {MAX_ITEM_DEPTH} levels" in rejection.reason


def test_a_deep_first_line_does_not_break_detection():
    deep = '{"id": ' + "[" * DEEP + "]" * DEEP + "}"
    result = parse(deep.encode(), name="arxiv/x.jsonl")
    assert result.format == "arxiv_listing" and result.rejections[0].location == "line 1"


def test_a_lone_surrogate_in_a_title_rejects_that_item_only():
    body = '[{"paper": {"id": "2403.00002", "title": "Bad \\ud800 title", "summary": "S."}}, ' + \
        json.dumps(hf_item("Good")) + "]"
    result = parse(body.encode())
    assert [e.title for e in result.entries] == ["Good"]
    [rejection] = result.rejections
    assert (rejection.position, rejection.location) == (0, "item 1")
    assert "paper.title" in rejection.reason and "\\ud800" in rejection.reason
    for text in (rejection.reason, rejection.excerpt):
        text.encode("utf-8")  # storable: the surrogate is shown as an escape, not kept


def test_a_lone_surrogate_in_a_listing_line_or_author_rejects_the_line():
    lines = ['{"id": "2403.00001", "title": "T \\udc80", "summary": "S."}',
             '{"id": "2403.00002", "title": "T", "authors": ["A \\ud83d"]}',
             json.dumps({"id": "2403.00003", "title": "Good"})]
    result = parse("\n".join(lines).encode(), name="arxiv/x.jsonl")
    assert [e.arxiv_id for e in result.entries] == ["2403.00003"]
    assert [(r.location, "lone surrogate" in r.reason) for r in result.rejections] == [
        ("line 1", True), ("line 2", True)]
    assert all(r.excerpt.encode("utf-8") for r in result.rejections)


@pytest.mark.parametrize(("field", "value"), [("upvotes", 2**31), ("upvotes", -(2**31) - 1), ("upvotes", 10**40)])
def test_hf_counts_beyond_32_bits_reject_the_item(field, value):
    result = parse(json.dumps([hf_item("Big", **{field: value}), hf_item("Fine", upvotes=2**31 - 1)]).encode())
    assert [(e.title, e.upvotes) for e in result.entries] == [("Fine", 2**31 - 1)]
    [rejection] = result.rejections
    assert rejection.location == "item 1" and "paper.upvotes" in rejection.reason and "out of range" in rejection.reason


def test_hf_comment_count_beyond_32_bits_rejects_the_item():
    item = hf_item("Chatty")
    item["numComments"] = 2**31
    result = parse(json.dumps([item, hf_item("Fine")]).encode())
    assert [e.title for e in result.entries] == ["Fine"]
    assert "numComments 2147483648 is out of range" in result.rejections[0].reason


def test_a_number_of_5000_digits_rejects_the_dump_not_the_process():
    result = parse(('[{"paper": {"title": "T", "upvotes": ' + "9" * 5000 + "}}]").encode())
    [rejection] = result.rejections
    assert rejection.position is None and "unreadable JSON value" in rejection.reason


def test_page_counts_beyond_32_bits_reject_their_paper_and_the_rest_load():
    result = parse(page("Mar 14",
                        "99999999999", "Many Upvotes", "Abstract one.",
                        "Fine Paper", "Abstract two.", "  • 99999999999 authors\n·\nApr 4, 2024",
                        "Chatty Paper", "Abstract three.", "·\nApr 4, 2024 " + "9" * 5000,
                        "Last Paper", "Abstract four.", "·\nApr 4 ²"),
                   name="inbox/2024-03-14/page.txt")
    assert [(e.position, e.title) for e in result.entries] == [(3, "Last Paper")]
    items = [(r.position, r.location, r.reason) for r in result.rejections if r.position is not None]
    assert [(p, loc) for p, loc, _ in items] == [(0, "line 13"), (1, "line 17"), (2, "line 25")]
    assert "upvote count 99999999999 is out of range" in items[0][2]
    assert "author count 99999999999 is out of range" in items[1][2]
    assert "comment count" in items[2][2]
    # "²" is a digit to str.isdigit but not to int: an unreadable date, the paper is kept
    assert [r.reason for r in result.rejections if r.position is None][0].startswith("unreadable date")


def test_a_deep_api_response_fails_its_page_with_the_url_not_a_recursion_error():
    from feed_assets.sources.http import FetchedResponse, FetchError
    from feed_assets.sources.huggingface import validate_page
    response = FetchedResponse(url="http://127.0.0.1/api/daily_papers?date=2024-03-14", status=200,
                               headers={"content-type": "application/json"},
                               body=("[" * DEEP + "]" * DEEP).encode(), fetched_at=dt.datetime(2024, 3, 14))
    with pytest.raises(FetchError, match=r"daily_papers\?date=2024-03-14: invalid or truncated JSON .*nested too deeply"):
        validate_page(response)


def test_a_deep_dump_is_rejected_and_the_schema_drift_check_still_runs(feed):
    folder = feed.inbox / FEED_DATE.isoformat()
    folder.mkdir(parents=True)
    (folder / "deep.json").write_text("[" * DEEP + "]" * DEEP)
    (folder / "good.json").write_text(json.dumps([hf_item("Good")]))
    result = feed.materialize(FEED_DATE)
    assert result.success
    [drift] = [c for c in result.get_asset_check_evaluations() if c.check_name == "hf_items_have_the_known_fields"]
    assert drift.metadata["items"].value == 1
    assert feed.query("select origin, position, reason from rejected_entries") == [
        ("2024-03-14/deep.json", None, "JSON nested too deeply to read (more levels than the parser allows)")]
    assert feed.query("select title from paper_appearances") == [("Good",)]


# --- 2. decoding: UTF-16 with a BOM, one bad byte, empty and binary files --------------------

PAPERS = [(f"Paper {n}", f"Abstract {n} says something about paper {n}.") for n in range(8)]


def ten_paper_page() -> str:
    return HEADER + "\n\n".join(["Mar 14", *(block for paper in PAPERS for block in paper)])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_decoded(encoding):
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    data = bom + ten_paper_page().replace("\n", "\r\n").encode(encoding)
    result = parse(data, name="inbox/2024-03-14/page.txt")
    assert result.format == "papers_page" and result.rejections == []
    assert [(e.title, e.abstract) for e in result.entries] == PAPERS
    hf = bom + json.dumps([hf_item("Wide")]).encode(encoding)
    assert [e.title for e in parse(hf).entries] == ["Wide"]


def test_one_invalid_utf8_byte_in_a_page_loses_that_paper_only():
    data = ten_paper_page().encode().replace(b"Abstract 3 says", b"Abstract 3 \xff says")
    result = parse(data, name="inbox/2024-03-14/page.txt")
    assert [e.title for e in result.entries] == [t for t, _ in PAPERS if t != "Paper 3"]
    [rejection] = result.rejections
    assert rejection.position == 3 and rejection.location.startswith("line ")
    assert "abstract holds the byte 0xFF, which is not UTF-8" in rejection.reason
    rejection.excerpt.encode("utf-8")


def test_one_invalid_byte_in_a_json_response_or_an_abstract_list_loses_one_item():
    data = json.dumps([hf_item("Good"), hf_item("Damaged"), hf_item("Fine")] * 5).encode()
    data = data.replace(b"Damaged", b"Dam\xc3ged", 1)
    result = parse(data)
    assert len(result.entries) == 14 and [r.location for r in result.rejections] == ["item 2"]
    lines = b"\n".join([b"Abstract:One."] * 12 + [b"Abstract:Bro\xe9ken."])
    result = parse(lines, name="inbox/2024-03-14/abstracts.txt")
    assert len(result.entries) == 12 and [r.location for r in result.rejections] == ["line 13"]


def test_a_file_in_another_encoding_is_still_not_utf8():
    data = ten_paper_page().replace("Paper", "Papér").encode("latin-1")
    with pytest.raises(UnknownFormatError, match=r"^inbox/2024-03-14/latin1.txt: not UTF-8 text \(byte offset \d+"):
        parse(data, name="inbox/2024-03-14/latin1.txt")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty file (0 bytes)"),
    (b"\n \r\n\t\n", "empty file (6 bytes of blank lines only)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "a binary file, not text (a NUL byte at byte offset 8)"),
    (b"Abstract:x\x00\x00\x00", "a binary file, not text (a NUL byte at byte offset 10)"),
    (b"\xff\xd8\xff\xe0\x10JFIF", "not UTF-8 text (byte offset 0"),
    (b"\xff\xfe\x00\xd8", "not UTF-16 text (byte offset"),
])
def test_empty_binary_and_undecodable_files_name_the_file_and_the_problem(data, message):
    with pytest.raises(UnknownFormatError) as raised:
        parse(data, name="inbox/2024-03-14/upload.dat")
    assert str(raised.value).startswith(f"inbox/2024-03-14/upload.dat: {message}")


# --- 7. normalization: control characters, ASCII ids, non-text titles, size limits ----------

from feed_assets.parsing.normalize import (  # noqa: E402
    MAX_ABSTRACT_CHARS, MAX_TITLE_CHARS, clean_text, excerpt, normalize_arxiv_id)


@pytest.mark.parametrize(("raw", "clean"), [
    ("Null\x00 byte and bell\x07", "Null byte and bell"),
    ("\x1b[2J\x1b[31mRed\x1b[0m title", "Red title"),
    ("Link \x1b]8;;http://evil\x07here\x1b]8;;\x07", "Link here"),
    ("Right-to-left \u202egnp.exe\u202c override", "Right-to-left gnp.exe override"),
    ("Isolates \u2066a\u2069 and marks \u200f\ufeff", "Isolates a and marks"),
    ("C1 \x9b31mcontrol\x85next line", "C1 control next line"),
    ("Tabs\tand\nnewlines stay spaces", "Tabs and newlines stay spaces"),
    ("Zero\u200dwidth joiners stay: \U0001F469\u200d\U0001F52C", "Zero\u200dwidth joiners stay: \U0001F469\u200d\U0001F52C"),
])
def test_control_characters_escapes_and_bidi_overrides_are_stripped(raw, clean):
    assert clean_text(raw, "title") == clean


def test_control_characters_are_stripped_from_every_text_field_of_every_format():
    item = hf_item("Evil\x1b[2J title")
    item["paper"]["summary"] = "Abstract \u202eesrever"
    item["paper"]["authors"] = [{"name": "Mallory\x07"}]
    [entry] = parse(json.dumps([item]).encode()).entries
    assert (entry.title, entry.abstract, entry.authors) == ("Evil title", "Abstract esrever", ("Mallory",))
    [entry] = parse(page("Mar 14", "Page\x07 title", "Page \x1b[1mabstract"), name="x.txt").entries
    assert (entry.title, entry.abstract) == ("Page title", "Page abstract")


def test_excerpts_and_file_names_show_control_characters_as_escapes():
    assert excerpt("bad\x1b[2J\u202eline") == "bad\\x1b[2J\\u202eline"
    with pytest.raises(UnknownFormatError) as raised:
        parse(b"\x1b[2Jhello", name="inbox/2024-03-14/\x1b[31mred.txt")
    assert "\x1b" not in str(raised.value) and "\\x1b[31mred.txt" in str(raised.value)


@pytest.mark.parametrize("raw_id", ["２５０４.０１２３４", "2504.０1234", "٢٥٠٤.٠١٢٣٤", "\u017fath/0601001",
                                    "arXiv:２５０４.０１２３４v2"])
def test_non_ascii_digits_are_not_an_arxiv_id(raw_id):
    assert normalize_arxiv_id(raw_id) is None
    result = parse(json.dumps([hf_item("Wide id", id=raw_id)]).encode())
    [entry] = result.entries
    assert entry.arxiv_id is None
    [note] = result.rejections
    assert note.position is None and "is not an arXiv id" in note.reason
    assert normalize_arxiv_id("2504.01234v3") == "2504.01234"


@pytest.mark.parametrize("title", [{"en": "A title"}, ["A", "title"], True])
def test_a_json_object_or_array_given_as_a_title_rejects_the_item(title):
    result = parse(json.dumps([hf_item(title), hf_item("Plain")]).encode())
    assert [e.title for e in result.entries] == ["Plain"]
    [rejection] = result.rejections
    assert rejection.location == "item 1" and "paper.title is JSON" in rejection.reason
    line = json.dumps({"id": "2403.00001", "title": title, "summary": "S."})
    [rejection] = parse(line.encode(), name="x.jsonl").rejections
    assert rejection.position == 0 and "title is JSON" in rejection.reason


def test_an_oversize_field_rejects_its_item_with_a_reason():
    long_title, long_abstract = "t" * (MAX_TITLE_CHARS + 1), "a " * MAX_ABSTRACT_CHARS
    items = [hf_item(long_title), hf_item("Fine"), hf_item("Long abstract", summary=long_abstract)]
    result = parse(json.dumps(items).encode())
    assert [e.title for e in result.entries] == ["Fine"]
    assert [(r.location, r.reason) for r in result.rejections] == [
        ("item 1", f"item rejected: paper.title is {MAX_TITLE_CHARS + 1:,} characters long (at most {MAX_TITLE_CHARS:,})"),
        ("item 3", f"item rejected: paper.summary is {2 * MAX_ABSTRACT_CHARS - 1:,} characters long "
                   f"(at most {MAX_ABSTRACT_CHARS:,})")]
    assert clean_text("t" * MAX_TITLE_CHARS, "title") == "t" * MAX_TITLE_CHARS
    result = parse(page("Mar 14", long_title, "Abstract.", "Fine", "Abstract."), name="x.txt")
    assert [e.title for e in result.entries] == ["Fine"]
    assert result.rejections[0].position == 0 and "characters long" in result.rejections[0].reason
    result = parse(b"Abstract:" + long_abstract.encode() + b"\nAbstract:Short.", name="x.txt")
    assert [e.abstract for e in result.entries] == ["Short."] and "characters long" in result.rejections[0].reason
