"""Settings from the environment: defaults for a fresh clone, and clear errors for bad values."""

from __future__ import annotations

import duckdb
import pytest

from feed_assets import settings
from feed_assets.resources import sources_from_environment


def test_defaults_are_offline_and_local(monkeypatch):
    for name in ("FEED_DATA_DIR", "FEED_SOURCES", "HF_API_BASE_URL", "ARXIV_API_BASE_URL", "ARXIV_CATEGORIES"):
        monkeypatch.delenv(name, raising=False)
    assert settings.data_dir() == settings.PROJECT_ROOT / "data"
    sources = sources_from_environment()
    assert sources.enabled == ["inbox"]
    assert sources.huggingface.base_url == "https://b-61j.pages.dev"
    assert sources.arxiv.categories == ["cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML"]


def test_the_environment_turns_the_live_feeds_on(monkeypatch, tmp_path):
    monkeypatch.setenv("FEED_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FEED_SOURCES", "inbox, hf,arxiv")
    monkeypatch.setenv("HF_API_BASE_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("ARXIV_CATEGORIES", "cs.RO,q-bio.NC")
    assert settings.data_dir() == tmp_path
    sources = sources_from_environment()
    assert sources.enabled == ["inbox", "hf", "arxiv"]
    assert sources.huggingface.base_url == "http://127.0.0.1:8000"
    assert sources.arxiv.categories == ["cs.RO", "q-bio.NC"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("FEED_SOURCES", "inbox,rss", r"unknown source\(s\) \['rss'\]"),
    ("FEED_START_DATE", "2024-13-01", r"FEED_START_DATE='2024-13-01' is not a date"),
    ("FEED_END_DATE", "tomorrow", r"FEED_END_DATE='tomorrow' is not a date"),
    ("FEED_END_DATE", "2023-12-31", r"FEED_END_DATE='2023-12-31' is before the first partition, 2024-01-01"),
    ("TREND_SCALES", "week:7", r"TREND_SCALES='week:7': a scale is name:window_days:baseline_days"),
    ("TREND_SCALES", "week:0:28", r"TREND_SCALES='week:0:28': window_days of scale 'week' must be"),
])
def test_bad_values_fail_with_the_setting_named(monkeypatch, name, value, message):
    monkeypatch.setenv("FEED_START_DATE", "2024-01-01")
    monkeypatch.setenv(name, value)
    read = {"FEED_SOURCES": settings.feed_sources, "FEED_START_DATE": settings.start_date,
            "FEED_END_DATE": settings.end_date, "TREND_SCALES": settings.trend_scales}[name]
    with pytest.raises(ValueError, match=message):
        read()


def test_the_first_partition_is_the_first_day_with_data(monkeypatch, tmp_path):
    monkeypatch.delenv("FEED_START_DATE", raising=False)
    assert settings.start_date(tmp_path) == settings.DEFAULT_START_DATE  # no data at all
    for name in ("2024-03-05", "2024-02-30", "notes", "2024-3-1"):
        (tmp_path / "inbox" / name).mkdir(parents=True)
    (tmp_path / "inbox" / "2023-01-01").write_text("a file, not a day folder")
    assert settings.start_date(tmp_path) == "2024-03-05"
    published = tmp_path / "published" / "raw_dumps"
    published.mkdir(parents=True)
    (published / "_schema.parquet").write_bytes(b"")
    (published / "2024-01.parquet").write_bytes(b"")  # not a Parquet file: no day
    with duckdb.connect() as con:  # a month emptied since (no rows), then a stored day no longer in the inbox
        con.execute(f"copy (select date '2024-01-03' as feed_date limit 0) to '{published / '2024-01.parquet'}'")
        con.execute(f"copy (select ('2024-02-' || d)::date as feed_date from (values ('17'), ('10')) v(d)) "
                    f"to '{published / '2024-02.parquet'}'")
    assert settings.start_date(tmp_path) == "2024-02-10"
    monkeypatch.setenv("FEED_START_DATE", "2020-01-01")
    assert settings.start_date(tmp_path) == "2020-01-01"


def test_the_last_partition_is_the_last_day_with_data_when_the_inbox_is_the_only_source(monkeypatch, tmp_path):
    for name in ("FEED_START_DATE", "FEED_END_DATE", "FEED_SOURCES"):
        monkeypatch.delenv(name, raising=False)
    assert settings.end_date(tmp_path) is None  # no data at all: to today
    (tmp_path / "inbox" / "2024-03-05").mkdir(parents=True)
    (tmp_path / "inbox" / "2024-03-09").mkdir()
    (tmp_path / "inbox" / "2024-03-10").write_text("a file, not a day folder")
    assert settings.end_date(tmp_path) == "2024-03-09"
    published = tmp_path / "published" / "raw_dumps"
    published.mkdir(parents=True)
    with duckdb.connect() as con:  # a stored day no longer in the inbox, in its month's published file
        con.execute(f"copy (select date '2024-04-01' as feed_date) to '{published / '2024-04.parquet'}'")
    assert settings.end_date(tmp_path) == "2024-04-01"
    assert settings.end_date(tmp_path, sources=["inbox", "arxiv"]) is None  # a live source: to today
    monkeypatch.setenv("FEED_SOURCES", "hf")
    assert settings.end_date(tmp_path) is None
    monkeypatch.setenv("FEED_END_DATE", "2024-03-07")  # set, it wins over the sources and the data
    assert settings.end_date(tmp_path) == "2024-03-07"
    monkeypatch.setenv("FEED_END_DATE", "today")
    assert settings.end_date(tmp_path, sources=["inbox"]) is None
    monkeypatch.delenv("FEED_END_DATE")
    monkeypatch.setenv("FEED_START_DATE", "2024-06-01")  # a start after the data: one partition
    assert settings.end_date(tmp_path, sources=["inbox"]) == "2024-06-01"


def test_the_projects_partitions_are_its_samples_days(monkeypatch):
    for name in ("FEED_START_DATE", "FEED_END_DATE", "FEED_SOURCES", "FEED_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert settings.start_date() == "2024-03-01"  # data/inbox, the bundled sample
    assert settings.end_date() == "2024-03-16"


def test_trend_scales_default_to_week_month_quarter(monkeypatch):
    monkeypatch.delenv("TREND_SCALES", raising=False)
    assert settings.trend_scales() == "week:7:28,month:30:90,quarter:91:182"
    monkeypatch.setenv("TREND_SCALES", " week:7:21, fortnight:14:42 ")
    assert settings.trend_scales() == "week:7:21,fortnight:14:42"
