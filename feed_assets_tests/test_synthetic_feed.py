"""The benchmark's synthetic arXiv inbox: deterministic, the right shape, and read by the parser without a rejection."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from feed_assets.parsing import parse_dump
from feed_assets_tests.synthetic_feed import FILE_NAME, write_arxiv_inbox

START = dt.date(2024, 2, 26)  # a Monday
END = dt.date(2024, 3, 10)  # two weeks, across a month boundary
PER_WEEKDAY = 120


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic") / "inbox"
    write_arxiv_inbox(folder, START, END, papers_per_weekday=PER_WEEKDAY, seed=7)
    return folder


def _days(inbox: Path) -> dict[dt.date, bytes]:
    return {dt.date.fromisoformat(p.parent.name): p.read_bytes() for p in sorted(inbox.glob(f"*/{FILE_NAME}"))}


def test_same_seed_same_bytes_other_seed_other_bytes(inbox: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    stats = write_arxiv_inbox(again, START, END, papers_per_weekday=PER_WEEKDAY, seed=7)
    assert _days(again) == _days(inbox)
    assert stats.files == len(_days(inbox)) and stats.bytes == sum(len(d) for d in _days(inbox).values())
    other = write_arxiv_inbox(tmp_path / "other", START, START, papers_per_weekday=PER_WEEKDAY, seed=8)
    assert other.bytes and (tmp_path / "other" / START.isoformat() / FILE_NAME).read_bytes() != _days(inbox)[START]


def test_weekdays_have_about_the_count_saturdays_few_sundays_none(inbox: Path) -> None:
    days = _days(inbox)
    new_ids = {day: [json.loads(line)["id"] for line in data.decode().splitlines()
                     if not json.loads(line)["id"].endswith("v2")] for day, data in days.items()}
    weekdays = [len(ids) for day, ids in new_ids.items() if day.weekday() < 5]
    assert len(weekdays) == 10
    assert all(0.6 * PER_WEEKDAY <= n <= 1.4 * PER_WEEKDAY for n in weekdays)
    assert 0.85 * PER_WEEKDAY <= sum(weekdays) / len(weekdays) <= 1.15 * PER_WEEKDAY
    assert all(len(ids) < 0.25 * PER_WEEKDAY for day, ids in new_ids.items() if day.weekday() == 5)
    assert not any(day.weekday() == 6 for day in days)
    assert not (inbox / "2024-03-03").exists()


def test_every_line_parses_without_rejection(inbox: Path) -> None:
    for day, data in _days(inbox).items():
        parsed = parse_dump(data, f"{day}/{FILE_NAME}", day)
        assert parsed.format == "arxiv_listing"
        assert parsed.rejections == []
        assert len(parsed.entries) == len(data.decode().splitlines())
        for entry in parsed.entries:
            assert entry.arxiv_id
            assert entry.title and entry.abstract and 1 <= len(entry.authors) <= 8 and 1 <= len(entry.categories) <= 3
            assert 60 <= len(entry.abstract.split()) <= 260


def test_ids_are_unique_and_relisted_papers_come_back_later_as_v2(inbox: Path) -> None:
    first_seen: dict[str, dt.date] = {}
    relisted: dict[str, dt.date] = {}
    records: dict[str, dict] = {}
    for day, data in _days(inbox).items():
        for line in data.decode().splitlines():
            record = json.loads(line)
            raw = record["id"]
            if raw.endswith("v2"):
                assert raw[:-2] not in relisted
                relisted[raw[:-2]] = day
                assert {k: v for k, v in record.items() if k not in ("id", "pdf", "abs")} == \
                    {k: v for k, v in records[raw[:-2]].items() if k not in ("id", "pdf", "abs")}
            else:
                assert raw not in first_seen, f"{raw} listed twice as new"
                first_seen[raw] = day
                records[raw] = record
                assert raw.startswith(f"{day:%y%m}.")
    assert relisted, "no paper was re-listed"
    assert all(first_seen[arxiv_id] < day for arxiv_id, day in relisted.items())
    assert 0.005 <= len(relisted) / len(first_seen) <= 0.06  # 3 %, less the ones due after END
