"""The warehouse on DuckLake: the extensions from their packages (signatures checked), the
``FEED_WAREHOUSE`` setting, the schema on a real PostgreSQL catalog with data files on a real
S3-compatible server, and the sample inbox giving the same tables as on the DuckDB file."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from feed_assets import settings
from feed_assets.resources import WAREHOUSE_FILE, Warehouse, WarehouseLockedError
from feed_assets.sample_data import generate_sample_inbox
from feed_assets.warehouse.changes import next_version, pull, record_changes
from feed_assets.warehouse.catalog import LakeCatalog, connect_lake, parse_warehouse, s3_secret_sql
from feed_assets.warehouse.extensions import (
    CANONICAL_NAMES,
    EXTENSION_PACKAGES,
    extension_file,
    install_extensions,
    installed_extensions,
)
from feed_assets.warehouse.lake_lock import LakeWriterLock
from feed_assets.warehouse.publish import PUBLISHED_DIR, QUERY_DATABASE
from feed_assets.warehouse.schema import TABLE_LIST, TABLES
from feed_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_END, SAMPLE_START, Feed
from feed_assets_tests.lake_servers import S3Server, lake_environment, running_postgres

# written by a run, not derived from the data: left out when two warehouses are compared
RUN_DEPENDENT_COLUMNS = {"raw_dumps": ("stored_at",), "fetch_log": ("fetched_at",)}
# the write path's bookkeeping: versions and progress depend on the readers there are (the
# file's query copy is one), not on the data; and the last new day's trend sums, kept by a
# run of one day only (which of two backfills ran last decides whether there are any)
BOOKKEEPING_TABLES = ("warehouse_writes", "table_changes", "reader_progress", "trend_term_sums")


def _fresh_connection(folder: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB that has no extension installed and may download none."""
    return duckdb.connect(config={"extension_directory": str(folder), "autoinstall_known_extensions": False})


def test_the_extensions_install_from_their_packages_and_load_with_signatures_checked(tmp_path: Path):
    extensions = tmp_path / "extensions"
    with _fresh_connection(extensions) as con:
        assert con.execute("select current_setting('allow_unsigned_extensions')").fetchone()[0] is False
        assert installed_extensions(con) == {}
        assert install_extensions(con) == list(EXTENSION_PACKAGES)
        assert install_extensions(con) == []  # once
        installed = installed_extensions(con)
        assert set(installed) == set(CANONICAL_NAMES.values())
        assert all(Path(path).is_relative_to(extensions) for path in installed.values())
    # a new process's plain LOAD finds them where DuckDB looks, offline, signatures checked
    with _fresh_connection(extensions) as con:
        for name in EXTENSION_PACKAGES:
            con.execute(f"load {name}")
        loaded = {row[0] for row in con.execute("select extension_name from duckdb_extensions() where loaded")
                  .fetchall()}
        assert set(CANONICAL_NAMES.values()) <= loaded


def test_a_tampered_extension_binary_is_refused(tmp_path: Path):
    tampered = tmp_path / "httpfs.duckdb_extension"
    shutil.copyfile(extension_file("httpfs"), tampered)
    with tampered.open("r+b") as binary:  # one bit of the code, far from the signature at the end
        binary.seek(4096)
        byte = binary.read(1)
        binary.seek(4096)
        binary.write(bytes([byte[0] ^ 1]))
    with _fresh_connection(tmp_path / "extensions") as con, pytest.raises(duckdb.IOException, match="signature"):
        con.execute(f"load '{tampered}'")


def test_feed_warehouse_selects_the_file_or_a_ducklake_on_postgres():
    assert parse_warehouse("", "/x/") is None
    assert parse_warehouse(None, "/x/") is None
    lake = parse_warehouse("ducklake:postgres:host=db port=5432 dbname=feed", "s3://b/p/")
    assert lake == LakeCatalog("postgres:host=db port=5432 dbname=feed", "s3://b/p/")
    assert lake.on_s3
    assert lake.attach_sql() == ("attach 'ducklake:postgres:host=db port=5432 dbname=feed' as lake "
                                 "(data_path 's3://b/p/')")
    for bad in ("feed.duckdb", "ducklake:sqlite:x.db", "ducklake:postgres", "postgres:host=db"):
        with pytest.raises(ValueError, match="FEED_WAREHOUSE"):
            parse_warehouse(bad, "/x/")


def test_the_settings_check_feed_warehouse_and_default_the_lake_data_path(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("FEED_WAREHOUSE", raising=False)
    monkeypatch.delenv("FEED_LAKE_DATA_PATH", raising=False)
    assert settings.warehouse() == ""
    assert settings.lake_data_path(tmp_path) == f"{tmp_path / 'lake'}/"
    monkeypatch.setenv("FEED_WAREHOUSE", "ducklake:mysql:db")
    with pytest.raises(ValueError, match="FEED_WAREHOUSE='ducklake:mysql:db'"):
        settings.warehouse()
    monkeypatch.setenv("FEED_LAKE_DATA_PATH", "s3://bucket/prefix")
    assert settings.lake_data_path(tmp_path) == "s3://bucket/prefix/"


def test_the_s3_secret_comes_from_the_aws_variables():
    assert s3_secret_sql({"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s'x", "AWS_REGION": "eu-west-1",
                          "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}) == (
        "create or replace temporary secret feed_lake_s3 (type s3, key_id 'k', secret 's''x', "
        "region 'eu-west-1', endpoint '127.0.0.1:9000', url_style 'path', use_ssl false)")
    assert s3_secret_sql({"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-2",
                          "AWS_SESSION_TOKEN": "t"}) == (
        "create or replace temporary secret feed_lake_s3 (type s3, key_id 'k', secret 's', session_token 't', "
        "region 'us-east-2')")
    assert "use_ssl true" in s3_secret_sql({"AWS_ENDPOINT_URL": "https://minio.example:9000"})


def _lake_warehouse(tmp_path: Path) -> Warehouse:
    """The warehouse resource as ``build_resources`` makes it from the environment."""
    return Warehouse(database=str(tmp_path / WAREHOUSE_FILE), catalog=settings.warehouse(),
                     lake_data_path=settings.lake_data_path(tmp_path))


def test_the_schema_is_made_on_ducklake_over_postgres_and_s3_and_a_write_round_trips(
        lake_environ: dict, s3_server: S3Server, tmp_path: Path):
    warehouse = _lake_warehouse(tmp_path)
    with warehouse.connection() as con, warehouse.write(con):
        assert con.execute("select current_database()").fetchone()[0] == "lake"
        con.execute("insert into warehouse_writes values (1, 'test', timestamp '2024-03-01 12:00:00')")
        con.execute("insert into papers (paper_id, authors, first_seen_date, last_seen_date, n_appearances, "
                    "n_days, sources, formats, match_rules) values ('arxiv:1', ['A. B.'], date '2024-03-01', "
                    "date '2024-03-02', 2, 2, ['arxiv'], ['arxiv_listing'], ['arxiv_id'])")
        # more rows than DuckLake inlines into its catalog: they go to a Parquet file on S3
        con.execute("insert into term_daily_counts select date '2024-03-01' + (i % 30)::int, 'text', "
                    "'term ' || i, i from range(5000) t(i)")
    with warehouse.connection() as con:  # a new connection: the catalog and the files are the lake's
        tables = {row[0]: row[1] for row in con.execute(
            "select table_name, comment from duckdb_tables() where database_name = 'lake'").fetchall()}
        assert tables == {table.name: table.description for table in TABLE_LIST}
        comment = con.execute("select comment from duckdb_columns() where database_name = 'lake' "
                              "and table_name = 'papers' and column_name = 'n_days'").fetchone()[0]
        assert comment == TABLES["papers"].columns[8].description
        assert con.execute("select writer from warehouse_writes").fetchall() == [("test",)]
        assert con.execute("select paper_id, authors, n_days from papers").fetchall() == [("arxiv:1", ["A. B."], 2)]
        assert con.execute("select count(*), sum(papers) from term_daily_counts").fetchone() == (5000, 4999 * 2500)
    prefix = lake_environ["FEED_LAKE_DATA_PATH"].removeprefix(f"s3://{s3_server.bucket}/")
    assert any(key.endswith(".parquet") for key in s3_server.keys(prefix))  # the rows went to S3
    # no DuckDB file, and no published copy: the lake is read directly
    assert not (tmp_path / WAREHOUSE_FILE).exists()
    assert not (tmp_path / QUERY_DATABASE).exists() and not (tmp_path / PUBLISHED_DIR).exists()


def _table_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    excluded = RUN_DEPENDENT_COLUMNS.get(table, ())
    columns = ", ".join(c for c in TABLES[table].column_names if c not in excluded)
    return con.execute(f"select {columns} from {table} order by all").fetchall()


def _assert_the_lake_holds_the_files_tables(file_warehouse: Path, lake_environ: dict) -> dict[str, list[tuple]]:
    """Every table of the lake equals the DuckDB file's (bookkeeping and load times left out);
    returns the file's rows."""
    compared = [table.name for table in TABLE_LIST if table.name not in BOOKKEEPING_TABLES]
    with duckdb.connect(str(file_warehouse / WAREHOUSE_FILE), read_only=True) as con:
        embedded = {table: _table_rows(con, table) for table in compared}
    lake = connect_lake(parse_warehouse(lake_environ["FEED_WAREHOUSE"], lake_environ["FEED_LAKE_DATA_PATH"]))
    try:
        on_lake = {table: _table_rows(lake, table) for table in compared}
    finally:
        lake.close()
    assert embedded["papers"] and embedded["trending_terms"]  # the comparison compares something
    for table in compared:
        assert on_lake[table] == embedded[table], table
    return embedded


@pytest.mark.slow
def test_the_sample_inbox_on_ducklake_gives_the_tables_of_the_duckdb_file(
        sample_warehouse: Path, lake_environ: dict, tmp_path: Path, instance: dg.DagsterInstance):
    data_dir = tmp_path / "data"
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=SAMPLE_DAYS)
    feed = Feed(data_dir, instance)  # its resources read FEED_WAREHOUSE: the lake
    assert feed.defs.resources["warehouse"].catalog == lake_environ["FEED_WAREHOUSE"]
    assert feed.materialize(SAMPLE_START, SAMPLE_END).success
    assert not (data_dir / WAREHOUSE_FILE).exists() and not (data_dir / PUBLISHED_DIR).exists()

    embedded = _assert_the_lake_holds_the_files_tables(sample_warehouse, lake_environ)
    assert isinstance(embedded["raw_dumps"][0][0], dt.date)

    # the command line reads the lake: its query and summary
    env = {**os.environ, **lake_environ, "FEED_DATA_DIR": str(data_dir)}
    cli = str(Path(sys.executable).parent / "feed-assets")
    counted = subprocess.run([cli, "query", "--csv", "select count(*) as papers from papers"], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert counted == f"papers\n{len(embedded['papers'])}\n"
    summary = subprocess.run([cli, "summary"], env=env, capture_output=True, text=True, check=True).stdout
    assert f"papers:           {len(embedded['papers'])}" in summary
    assert "the DuckLake postgres:" in summary and "query copy" not in summary


def test_lake_connections_share_one_attached_database_but_not_transactions_or_temp_tables(lake_environ: dict):
    catalog = parse_warehouse(lake_environ["FEED_WAREHOUSE"], lake_environ["FEED_LAKE_DATA_PATH"])
    first, second = connect_lake(catalog), connect_lake(catalog)
    try:
        first.execute("create table shared (x integer)")
        first.execute("create temp table own (x integer)")
        first.begin()
        first.execute("insert into shared values (1)")
        assert second.execute("select count(*) from shared").fetchone()[0] == 0  # not committed yet
        first.commit()
        assert second.execute("select count(*) from shared").fetchone()[0] == 1
        with pytest.raises(duckdb.CatalogException):
            second.execute("select * from own")
    finally:
        first.close()
        second.close()
    third = connect_lake(catalog)  # closing a connection leaves the process's lake attached
    try:
        assert third.execute("select current_database(), count(*) from shared").fetchone() == ("lake", 1)
    finally:
        third.close()


def test_a_second_writer_of_the_lake_waits_then_fails_naming_the_first(lake_environ: dict, tmp_path: Path):
    first = _lake_warehouse(tmp_path)
    second = Warehouse(database=first.database, catalog=first.catalog, lake_data_path=first.lake_data_path,
                       lock_timeout_seconds=1.5)
    with first.connection() as con:
        con.execute("select 1")
        with pytest.raises(WarehouseLockedError, match=r"being written by another process .* PostgreSQL session \d+"):
            with second.connection():
                pass
    with second.connection() as con:  # once the first has closed, the second writes
        with second.write(con):
            con.execute("insert into warehouse_writes values (1, 'second', now()::timestamp)")
        assert con.execute("select writer from warehouse_writes").fetchall() == [("second",)]


def test_a_run_writes_its_days_dumps_while_another_process_updates_the_shared_tables(
        lake_environ: dict, tmp_path: Path, instance: dg.DagsterInstance):
    """raw_dumps takes no writer lock: a run stores its days while another process holds the
    lock of the shared tables, whose writers still wait for it, then fail by name."""
    data_dir = tmp_path / "data"
    last = SAMPLE_START + dt.timedelta(days=2)
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=3)
    catalog = parse_warehouse(lake_environ["FEED_WAREHOUSE"], lake_environ["FEED_LAKE_DATA_PATH"])
    holder = LakeWriterLock(catalog.libpq)
    holder.acquire(1.0)
    try:
        assert Feed(data_dir, instance).materialize(SAMPLE_START, last, assets=["raw_dumps"]).success
        shared = Warehouse(database=str(data_dir / WAREHOUSE_FILE), catalog=lake_environ["FEED_WAREHOUSE"],
                           lake_data_path=lake_environ["FEED_LAKE_DATA_PATH"], lock_timeout_seconds=1.0)
        with pytest.raises(WarehouseLockedError, match="writers of the shared tables take turns"):
            with shared.connection():
                pass
    finally:
        holder.release()
    lake = connect_lake(catalog)
    try:
        assert lake.execute("select min(feed_date), max(feed_date), count(distinct feed_date) from raw_dumps"
                            ).fetchone() == (SAMPLE_START, last, 3)
        assert lake.execute("select version, writer from warehouse_writes").fetchall() == [(1, "raw_dumps")]
        assert lake.execute("select count(distinct day) from table_changes where table_name = 'raw_dumps'"
                            ).fetchone()[0] == 3
    finally:
        lake.close()


def test_a_write_in_conflict_with_another_process_commit_is_run_again_whole(lake_environ: dict, tmp_path: Path):
    """Two writers delete rows of one data file: DuckLake refuses the second commit, and
    ``write_retrying`` runs that write again on the new snapshot; nothing is lost or doubled."""
    warehouse = _lake_warehouse(tmp_path)
    days = [SAMPLE_START + dt.timedelta(days=i) for i in range(3)]
    with warehouse.connection() as con, warehouse.write(con):  # more rows than DuckLake inlines: one file
        con.execute("insert into trend_day_totals select unnest(?::date[]), 1", [days])
        con.execute("insert into term_daily_counts select d, 'text', 'term ' || i, 1 "
                    "from (select unnest(?::date[]) as d), range(3000) t(i)", [days])
    other = connect_lake(parse_warehouse(lake_environ["FEED_WAREHOUSE"], lake_environ["FEED_LAKE_DATA_PATH"]))
    attempts = []

    def replace_first_day(con: duckdb.DuckDBPyConnection) -> None:
        attempts.append(len(attempts) + 1)
        con.execute("delete from term_daily_counts where feed_date = ?", [days[0]])
        con.execute("insert into term_daily_counts values (?, 'text', 'replaced', 7)", [days[0]])
        if len(attempts) == 1:  # meanwhile another process deletes other rows of the same file
            other.execute("delete from term_daily_counts where feed_date = ?", [days[1]])

    try:
        warehouse.write_retrying(replace_first_day, shared_tables=False)
    finally:
        other.close()
    assert attempts == [1, 2]
    with warehouse.connection() as con:
        assert con.execute("select feed_date, count(*), sum(papers) from term_daily_counts group by 1 order by 1"
                           ).fetchall() == [(days[0], 1, 7), (days[2], 3000, 3000)]


def test_a_reader_dropping_the_changes_it_took_in_commits_beside_a_dump_write(lake_environ: dict, tmp_path: Path):
    """A reader's ``Pull.done`` deletes taken-in rows of ``table_changes`` while another
    process's dump write inserts new ones: both commit (no conflict), the versions follow the
    commits, and the reader takes in the dump write next time."""
    reader, dumps = _lake_warehouse(tmp_path), _lake_warehouse(tmp_path)

    def write_day(day: dt.date) -> None:
        with dumps.connection(shared_tables=False) as con, dumps.write(con):
            record_changes(con, next_version(con, "raw_dumps"), "raw_dumps", "select ?::date as day, null as paper_id",
                           [day])

    def take_in() -> list[dt.date]:
        with reader.connection() as con, reader.write(con):
            changes = pull(con, "stats", ["raw_dumps"])
            days = [] if changes.full else [row[0] for row in con.execute(changes.days("raw_dumps")).fetchall()]
            changes.done(con)
            return days

    write_day(SAMPLE_START)
    take_in()  # the first take-in: everything
    write_day(SAMPLE_START + dt.timedelta(days=1))
    with reader.connection() as con, reader.write(con):
        changes = pull(con, "stats", ["raw_dumps"])
        assert [row[0] for row in con.execute(changes.days("raw_dumps")).fetchall()] == [
            SAMPLE_START + dt.timedelta(days=1)]
        changes.done(con)  # deletes the rows it took in...
        write_day(SAMPLE_START + dt.timedelta(days=2))  # ...while another process commits new ones
    assert take_in() == [SAMPLE_START + dt.timedelta(days=2)]
    with reader.connection() as con:
        assert con.execute("select version, writer from warehouse_writes order by version").fetchall() == [
            (1, "raw_dumps"), (2, "raw_dumps"), (3, "raw_dumps")]


@pytest.mark.slow
def test_two_backfills_started_at_once_on_disjoint_ranges_give_the_tables_of_one_run(
        sample_warehouse: Path, lake_environ: dict, tmp_path: Path):
    """Two `dagster asset materialize` of the sample's two halves, started together from the
    command line on one lake: both succeed (their dumps are written at the same time, the
    second writer of the shared tables waits for the first) and the tables are those of one
    run over all the days on the DuckDB file."""
    data_dir, home = tmp_path / "data", tmp_path / "dagster_home"
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=SAMPLE_DAYS)
    home.mkdir()
    middle = SAMPLE_START + dt.timedelta(days=SAMPLE_DAYS // 2 - 1)
    env = {**os.environ, **lake_environ, "DAGSTER_HOME": str(home), "FEED_DATA_DIR": str(data_dir),
           "FEED_START_DATE": SAMPLE_START.isoformat(), "FEED_END_DATE": SAMPLE_END.isoformat()}
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "feed_assets.definitions",
               "--select", "*", "--partition-range"]
    # the instance's SQLite storage is made first: two processes making it at once race on its
    # tables ("table runs already exists"), a race of Dagster's, not of the lake
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_runs() == []
    runs = [subprocess.Popen([*command, f"{first}...{last}"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
            for first, last in ((SAMPLE_START, middle), (middle + dt.timedelta(days=1), SAMPLE_END))]
    for run in runs:
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-3000:]

    _assert_the_lake_holds_the_files_tables(sample_warehouse, lake_environ)


@pytest.mark.slow
def test_the_maintenance_job_compacts_the_lake_and_expires_snapshots_and_keeps_every_row(
        lake_environ: dict, tmp_path: Path, instance: dg.DagsterInstance):
    data_dir = tmp_path / "data"
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=4)
    compared = [table.name for table in TABLE_LIST]
    feed = Feed(data_dir, instance)
    for day in range(4):  # a commit or more per step and day: many small files
        assert feed.materialize(SAMPLE_START + dt.timedelta(days=day)).success
    lake = connect_lake(parse_warehouse(lake_environ["FEED_WAREHOUSE"], lake_environ["FEED_LAKE_DATA_PATH"]))
    try:
        before = {table: _table_rows(lake, table) for table in compared}
        snapshots = lake.execute("select count(*) from ducklake_snapshots('lake')").fetchone()[0]
    finally:
        lake.close()
    result = feed.defs.get_job_def("warehouse_maintenance_job").execute_in_process(
        instance=instance, run_config={"ops": {"compact_warehouse": {"config": {"keep_days": 0}}}})
    assert result.success
    (materialization,) = [event for event in result.all_events if event.event_type_value == "STEP_OUTPUT"]
    metadata = {key: value.value for key, value in materialization.event_specific_data.metadata.items()}
    assert metadata["data_files_after"] < metadata["data_files_before"]
    assert metadata["snapshots_expired"] > 0
    lake = connect_lake(parse_warehouse(lake_environ["FEED_WAREHOUSE"], lake_environ["FEED_LAKE_DATA_PATH"]))
    try:
        assert {table: _table_rows(lake, table) for table in compared} == before
        assert lake.execute("select count(*) from ducklake_snapshots('lake')").fetchone()[0] < snapshots
    finally:
        lake.close()


LAKE_READER = """
import json, os, sys, time, duckdb
from feed_assets.warehouse.catalog import s3_secret_sql
from feed_assets.warehouse.extensions import load_extensions
deadline, stop, seen, errors = time.monotonic() + float(sys.argv[1]), sys.argv[2], [], []
con = duckdb.connect()
load_extensions(con)
con.execute(s3_secret_sql())
attached = False
while time.monotonic() < deadline and len(seen) < 5000 and not os.path.exists(stop):
    try:
        if not attached:  # read-only: it waits for the run to make the lake
            con.execute("attach '" + os.environ["FEED_WAREHOUSE"] + "' as lake (read_only)")
            attached = True
        rows = con.execute("select feed_date::varchar, count(*) from lake.paper_appearances group by 1").fetchall()
        con.execute("select count(*) from lake.papers").fetchone()
        seen.append(dict(rows))
    except (duckdb.CatalogException, duckdb.InvalidInputException) as error:
        if attached and isinstance(error, duckdb.InvalidInputException):
            errors.append(str(error))
        time.sleep(0.05)  # before the first step made the lake and its tables
    except duckdb.Error as error:
        errors.append(str(error))
print(json.dumps({"snapshots": seen, "errors": errors}))
"""


@pytest.mark.slow
def test_a_reader_attached_read_only_during_a_30_day_backfill_never_errs_nor_sees_part_of_a_day(
        lake_environ: dict, tmp_path: Path, instance: dg.DagsterInstance):
    data_dir, stop = tmp_path / "data", tmp_path / "stop-reader"
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=30)
    reader = subprocess.Popen([sys.executable, "-c", LAKE_READER, "300", str(stop)],
                              env={**os.environ, **lake_environ}, stdout=subprocess.PIPE, text=True)
    try:
        assert Feed(data_dir, instance).materialize(SAMPLE_START, SAMPLE_START + dt.timedelta(days=29)).success
    finally:
        stop.touch()
    output = json.loads(reader.communicate(timeout=120)[0])
    lake = connect_lake(parse_warehouse(lake_environ["FEED_WAREHOUSE"], lake_environ["FEED_LAKE_DATA_PATH"]))
    try:
        final = dict(lake.execute("select feed_date::varchar, count(*) from paper_appearances group by 1").fetchall())
    finally:
        lake.close()
    assert output["errors"] == []
    assert len(output["snapshots"]) > 3, "the reader did not get to read during the run"
    assert len(final) > 15  # the weekdays of the 30 days
    for snapshot in output["snapshots"]:
        assert all(final[day] == count for day, count in snapshot.items())  # a day is absent or whole


@pytest.mark.slow
def test_a_backfill_killed_mid_write_leaves_the_lake_whole_and_the_next_run_completes_it(
        sample_warehouse: Path, lake_environ: dict, tmp_path: Path):
    """SIGKILL in three steps, one after another: the lake is at its last committed snapshot
    (no duplicate key), the writer lock goes with the killed process, and a last run ends with
    the tables of a clean run on the DuckDB file."""
    from feed_assets_tests.test_crash_recovery import kill_in_step

    data_dir, home = tmp_path / "data", tmp_path / "dagster_home"
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=SAMPLE_DAYS)
    home.mkdir()
    env = {**lake_environ, "FEED_START_DATE": SAMPLE_START.isoformat(), "FEED_END_DATE": SAMPLE_END.isoformat()}
    killed = [step for step in ("parsed_entries", "papers", "trending_terms")
              if any(kill_in_step(data_dir, home, step, delay=delay, env=env) for delay in (0.3, 0.08, 0.02))]
    assert len(killed) >= 2, killed
    lake = connect_lake(parse_warehouse(lake_environ["FEED_WAREHOUSE"], lake_environ["FEED_LAKE_DATA_PATH"]))
    try:
        for table in TABLE_LIST:
            if table.natural_key and table.name != "fetch_log":
                assert lake.execute(f"select count(*) - count(distinct ({', '.join(table.natural_key)})) "
                                    f"from {table.name}").fetchone()[0] == 0, table.name
    finally:
        lake.close()
    finishing = subprocess.run([str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
                                "feed_assets.definitions", "--select", "*", "--partition-range",
                                f"{SAMPLE_START}...{SAMPLE_END}"],
                               env={**os.environ, **env, "FEED_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home),
                                    "FEED_LOCK_TIMEOUT_SECONDS": "10"},
                               capture_output=True, text=True, timeout=600)
    assert finishing.returncode == 0, finishing.stderr[-3000:]
    _assert_the_lake_holds_the_files_tables(sample_warehouse, lake_environ)


def test_a_process_writes_the_lake_again_after_its_postgresql_restarts(s3_server: S3Server, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    """A long-lived process (a code server, the daemon) keeps the lake attached between runs:
    when the catalog's PostgreSQL restarts, the next connections to it still write and read
    (DuckDB's postgres extension connects again)."""
    with running_postgres() as server:
        for key, value in lake_environment(server, s3_server).items():
            monkeypatch.setenv(key, value)
        warehouse = _lake_warehouse(tmp_path)
        with warehouse.connection() as con, warehouse.write(con):
            con.execute("insert into trend_day_totals values (date '2024-03-01', 1)")
        server.restart()
        with warehouse.connection() as con, warehouse.write(con):
            con.execute("insert into trend_day_totals values (date '2024-03-02', 2)")
        with warehouse.connection() as con:
            assert con.execute("select sum(new_papers), count(*) from trend_day_totals").fetchone() == (3, 2)
