"""Tests of the parsers on the real dumps under ../shared (samples and data), when present.

Expectations are counted from the files themselves (plain line splitting, json.load), not
through the parsers, so the parsers are checked against an independent reading.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from feed_assets.parsing import parse_dump

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "samples"
HF_DAILY_PAPERS = SHARED / "data" / "hf-daily-papers"
ARXIV_LISTINGS = SHARED / "data" / "arxiv-listings"

pytestmark = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared samples folder {SHARED} is absent (it sits beside the project)")

ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})$")


def non_blank_lines(path: Path) -> list[str]:
    """The file's non-blank lines, stripped."""
    return [line.strip() for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def hf_items(path: Path) -> list[object]:
    """The items of one API response file, unwrapping the ``{"data": [...]}`` envelope one day uses."""
    body = json.loads(path.read_text(encoding="utf-8"))
    return body["data"] if isinstance(body, dict) else body


def test_sample_001_plain_page():
    path = SAMPLES / "001_0f1de9a527c198c3.txt"
    lines = non_blank_lines(path)
    assert lines[:5] == ["new", "Get trending papers in your email inbox!", "Subscribe",
                         "byAK and the research community", "Mar 14"]
    body = lines[5:]
    expected_titles = body[0::2]

    result = parse_dump(path.read_bytes(), "inbox/2024-03-14/001.txt", dt.date(2024, 3, 14))

    assert result.format == "papers_page"
    assert result.declared_date == dt.date(2024, 3, 14)
    assert result.rejections == []
    assert len(result.entries) == len(body) // 2 == 56
    assert [e.title for e in result.entries] == expected_titles
    assert all(e.abstract and len(e.abstract) > 200 for e in result.entries)


def test_sample_003_page_with_metadata():
    path = SAMPLES / "003_247f7b821fe9b09a.txt"
    lines = non_blank_lines(path)
    author_counts = [int(line.split()[1]) for line in lines if line.startswith("•")]
    date_lines = [lines[i + 1] for i, line in enumerate(lines) if line == "·"]
    shown_comments = [int(found.group(2)) for found in map(re.compile(r"^\w{3} \d{1,2}(, \d{4})? (\d+)$").match,
                                                             date_lines) if found]
    metadata_lines = len(author_counts) + 2 * len(date_lines)
    paper_count = (len(lines) - 6 - metadata_lines) // 2  # 6 header lines, then title + abstract per paper

    result = parse_dump(path.read_bytes(), "inbox/2025-11-26/003.txt", dt.date(2025, 11, 26))

    assert result.format == "papers_page_metadata"
    assert result.declared_date == dt.date(2025, 11, 26)
    assert result.rejections == []
    assert len(result.entries) == paper_count == 60
    with_metadata = [e for e in result.entries if e.published_date is not None]
    assert len(with_metadata) == len(date_lines) == 59
    assert [e.author_count for e in with_metadata] == author_counts
    assert [e.comments for e in with_metadata if e.comments is not None] == shown_comments == [3, 3, 2, 2, 2, 2]
    first, second = result.entries[:2]
    assert (first.author_count, first.published_date, first.comments) == (4, dt.date(2024, 4, 4), None)
    assert (second.published_date, second.comments) == (dt.date(2025, 3, 21), 3)
    assert all(e.published_date <= dt.date(2025, 11, 26) for e in with_metadata)


def test_hf_daily_papers_files():
    paths = sorted(HF_DAILY_PAPERS.glob("*.json"))
    assert len(paths) == 415
    total_entries = total_rejections = 0
    days_with_rejections = set()
    for path in paths:
        items = hf_items(path)
        repr_strings = sum(isinstance(item, str) for item in items)

        result = parse_dump(path.read_bytes(), f"hf/{path.name}", dt.date.fromisoformat(path.stem))

        assert result.format == "hf_daily_papers"
        assert len(result.entries) == len(items) - repr_strings, path.name
        assert len(result.rejections) == repr_strings, path.name
        assert all(r.reason == "item is a Python repr string, not a JSON object" for r in result.rejections)
        assert all(e.arxiv_id and e.title and e.abstract for e in result.entries), path.name
        total_entries += len(result.entries)
        total_rejections += len(result.rejections)
        if result.rejections:
            days_with_rejections.add(dt.date.fromisoformat(path.stem))

    first_bad, last_bad = dt.date(2024, 12, 11), dt.date(2025, 1, 10)
    files_in_bad_range = {dt.date.fromisoformat(p.stem) for p in paths
                          if first_bad <= dt.date.fromisoformat(p.stem) <= last_bad}
    assert days_with_rejections == files_in_bad_range
    assert len(days_with_rejections) == 22
    # FEED_FORMATS.md says 6,136 items of which 295 are repr strings; the files hold
    # 5,841 objects (= 6,136 - 295) and 300 repr strings, 9 of them on 2025-01-10, whose
    # array is wrapped in {"status": ..., "data": [...]}.
    assert total_entries == 5841
    assert total_rejections == 300


def test_arxiv_listing_files():
    paths = sorted(ARXIV_LISTINGS.glob("*.jsonl"))
    assert len(paths) == 45
    total_entries = 0
    for path in paths:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

        result = parse_dump(path.read_bytes(), f"arxiv/{path.name}", dt.date.fromisoformat(path.stem))

        assert result.format == "arxiv_listing"
        assert result.rejections == []
        assert len(result.entries) == len(records)
        assert all(e.arxiv_id and ARXIV_ID.match(e.arxiv_id) for e in result.entries), path.name
        assert [e.arxiv_id for e in result.entries] == [re.sub(r"v\d+$", "", r["id"]) for r in records]
        assert all("\n" not in (e.title or "") + (e.abstract or "") for e in result.entries)
        total_entries += len(result.entries)
    assert total_entries == 9967
