"""Dagster's instance on PostgreSQL (``deploy/dagster.yaml``), as a team runs it: a backfill
launched from the command line records its run, events and partitions in a real PostgreSQL
on 127.0.0.1, another process reading the instance finds them, and the webserver started on
``workspace.yaml`` shows them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from feed_assets.sample_data import generate_sample_inbox
from feed_assets_tests.lake_servers import PostgresServer, free_port
from feed_assets_tests.webserver import graphql, stop, wait_until_serving

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAYS = 4
FIRST = dt.date(2024, 3, 1)
LAST = FIRST + dt.timedelta(days=DAYS - 1)

pytestmark = pytest.mark.slow


def instance_url(server: PostgresServer, database: str) -> str:
    """The instance's URL with the driver named (SQLAlchemy 2.1 would pick psycopg 3 otherwise)."""
    return f"postgresql+psycopg2://postgres@{server.host}:{server.port}/{database}"


def test_a_backfill_on_the_postgres_instance_is_recorded_and_the_webserver_shows_it(
        postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    generate_sample_inbox(data / "inbox", start=FIRST, days=DAYS)
    env = {**os.environ, "DAGSTER_HOME": str(home), "FEED_DATA_DIR": str(data),
           "DAGSTER_POSTGRES_URL": instance_url(postgres_server, postgres_server.create_database()),
           "FEED_START_DATE": FIRST.isoformat(), "FEED_END_DATE": LAST.isoformat()}

    done = subprocess.run([str(BIN / "dagster"), "asset", "materialize", "-m", "feed_assets.definitions",
                           "--select", "*", "--partition-range", f"{FIRST}...{LAST}"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    # another process, as another machine would, finds the run, its events and the partitions
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", env["DAGSTER_POSTGRES_URL"])
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        (run,) = instance.get_runs()
        assert run.is_success
        events = {record.event_log_entry.dagster_event_type
                  for record in instance.get_records_for_run(run.run_id, limit=10_000).records}
        assert {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.ASSET_MATERIALIZATION,
                dg.DagsterEventType.ASSET_CHECK_EVALUATION} <= events
        assert instance.get_materialized_partitions(dg.AssetKey("raw_dumps")) == {
            (FIRST + dt.timedelta(days=n)).isoformat() for n in range(DAYS)}

    # the webserver of a deployment (workspace.yaml) on the same instance shows them
    port = free_port()
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen([str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
                               "-w", "workspace.yaml"], cwd=PROJECT_ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server, tmp_path / "webserver.log")
        runs = graphql(url, "{ runsOrError { ... on Runs { results { runId status } } } }")["runsOrError"]["results"]
        assert runs == [{"runId": run.run_id, "status": "SUCCESS"}]
        stats = graphql(url, '{ assetNodeOrError(assetKey: {path: ["raw_dumps"]}) { ... on AssetNode { '
                             'partitionStats { numMaterialized numPartitions } } } }')["assetNodeOrError"]
        assert stats["partitionStats"] == {"numMaterialized": DAYS, "numPartitions": DAYS}
    finally:
        stop(server)
        log.close()
