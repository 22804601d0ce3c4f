"""``make bench``'s own reading of a run: its steps and the engine's stages, each with its
throughput (the figures themselves are measured by ``make bench``, never asserted here)."""

from __future__ import annotations

import re

import duckdb

from feed_assets.resources import WAREHOUSE_FILE
from feed_assets.sample_data import generate_sample_inbox
from feed_assets_tests.benchmark import print_stages, run_feed
from feed_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_END, SAMPLE_START

STAGES = ("parse", "identity", "write", "papers", "terms", "trends", "publish")


def test_a_runs_stages_are_read_back_and_printed_with_their_throughput(tmp_path, capsys):
    data_dir = tmp_path / "feed"
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=SAMPLE_DAYS)
    measured = run_feed(data_dir, tmp_path / "home", SAMPLE_START, SAMPLE_END)

    stages = measured["stages"]
    for name in ("parse_wait_seconds", "identity_seconds", "write_seconds"):
        assert stages[name] > 0, name  # the sample's entries were parsed, resolved and written
    steps = measured["steps"]
    parts = stages["parse_wait_seconds"] + stages["identity_seconds"] + stages["write_seconds"]
    assert parts <= steps["parsed_entries"]  # parts of the step's time, none counted twice
    # every write of the run was published, some of it on the publisher's thread
    assert stages["publish_publications"] >= 2 and stages["publish_seconds"] > 0
    with duckdb.connect(str(data_dir / WAREHOUSE_FILE), read_only=True) as con:
        months = con.execute("select count(distinct date_trunc('month', feed_date)) from raw_dumps").fetchone()[0]
    published = [path for path in (data_dir / "published").rglob("*.parquet") if not path.name.startswith("_")]
    assert months == 1 and stages["publish_files"] >= len(published) > months

    print_stages(measured)
    printed = capsys.readouterr().out
    for stage in STAGES:
        line = re.search(rf"^ +{stage} +(\d+\.\d\d) s +[\d,]+ \w+/s", printed, re.MULTILINE)
        assert line, f"no {stage} line in:\n{printed}"
    assert re.search(rf"^ +parse +{stages['parse_wait_seconds']:.2f} s", printed, re.MULTILINE)
    assert re.search(rf"^ +terms +{steps['term_daily_counts']:.2f} s", printed, re.MULTILINE)
