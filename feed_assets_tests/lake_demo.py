"""``make lake-demo``: the bundled sample on DuckLake, on servers started here.

Starts a PostgreSQL (the lake's catalog) and an S3-compatible server (moto, the lake's data
files) on 127.0.0.1, backfills the sample inbox onto the lake in one run with
``feed-assets backfill`` (as ``make run`` does on the DuckDB file), prints the summary and
how to attach the lake and query it, from Python and from the duckdb CLI, time travel
included, then keeps the servers up until Ctrl-C (when run from a terminal).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _pytest.outcomes

from feed_assets.sample_data import generate_sample_inbox
from feed_assets_tests.lake_servers import running_postgres, running_s3

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    work = Path(tempfile.mkdtemp(prefix="feed-lake-demo-"))
    try:
        with running_postgres() as postgres, running_s3() as s3:
            database = postgres.create_database()
            lake_env = {**s3.environ, "FEED_WAREHOUSE": f"ducklake:postgres:{postgres.dsn(database)}",
                        "FEED_LAKE_DATA_PATH": f"s3://{s3.bucket}/demo/"}
            data = work / "data"
            generate_sample_inbox(data / "inbox")
            env = {**os.environ, **lake_env, "FEED_DATA_DIR": str(data), "DAGSTER_HOME": str(work / "dagster_home")}
            (work / "dagster_home").mkdir()
            for key in ("FEED_START_DATE", "FEED_END_DATE"):
                env.pop(key, None)
            days = subprocess.run([str(BIN / "feed-assets"), "inbox-range"], env=env, capture_output=True,
                                  text=True, check=True).stdout.strip()
            print(f"PostgreSQL on {postgres.host}:{postgres.port} (the catalog: database {database}), "
                  f"S3 (moto) on {s3.endpoint_url} (the files: {lake_env['FEED_LAKE_DATA_PATH']})\n")
            began = time.perf_counter()
            subprocess.run([str(BIN / "feed-assets"), "backfill", days], env=env, check=True)
            print(f"\nbackfilled {days} onto the lake in {time.perf_counter() - began:.1f} s\n")
            subprocess.run([str(BIN / "feed-assets"), "summary"], env=env, check=True)
            _print_how_to_attach(lake_env)
            _read_as_another_machine(lake_env)
            if sys.stdin.isatty():
                print("\nThe servers run until Ctrl-C.")
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    print()
    except _pytest.outcomes.Skipped as why:
        print(f"the lake demo needs its servers: {why.msg}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _print_how_to_attach(env: dict[str, str]) -> None:
    exports = " ".join(f"{key}='{value}'" for key, value in env.items() if key.startswith("AWS_"))
    metadata = env["FEED_WAREHOUSE"].removeprefix("ducklake:")
    endpoint = env["AWS_ENDPOINT_URL"].removeprefix("http://")
    print(f"""
Attach the lake read-only from another terminal, while the servers run:

  {exports} FEED_WAREHOUSE='{env['FEED_WAREHOUSE']}' \\
  FEED_LAKE_DATA_PATH='{env['FEED_LAKE_DATA_PATH']}' \\
  .venv/bin/feed-assets query "select count(*) from papers"

From Python (the extensions come from their PyPI packages, installed by the project):

  import duckdb
  from feed_assets.warehouse.extensions import load_extensions
  con = duckdb.connect(); load_extensions(con)
  con.execute("create secret (type s3, key_id '{env['AWS_ACCESS_KEY_ID']}', secret '{env['AWS_SECRET_ACCESS_KEY']}', "
              "endpoint '{endpoint}', url_style 'path', use_ssl false)")
  con.execute("attach 'ducklake:{metadata}' as lake (read_only)")
  con.sql("select * from lake.papers limit 5").show()
  con.sql("select snapshot_id, snapshot_time from ducklake_snapshots('lake')").show()
  con.sql("select count(*) from lake.papers at (version => 3)").show()   # time travel

From the duckdb CLI of the same version (1.5.5): the same statements after `load ducklake;`.""")


def _read_as_another_machine(env: dict[str, str]) -> None:
    """The Python statements above, run here: the lake read-only, now and as of its first snapshots."""
    import duckdb

    from feed_assets.warehouse.catalog import s3_secret_sql
    from feed_assets.warehouse.extensions import load_extensions

    with duckdb.connect() as con:
        load_extensions(con)
        con.execute(s3_secret_sql(env))  # the secret printed above, made as the project makes it
        con.execute(f"attach '{env['FEED_WAREHOUSE']}' as lake (read_only)")
        began = time.perf_counter()
        papers = con.execute("select count(*) from lake.papers").fetchone()[0]
        took = time.perf_counter() - began
        snapshots = con.execute("select max(snapshot_id) from ducklake_snapshots('lake')").fetchone()[0]
        early, early_papers = next((version, count) for version in range(snapshots + 1)
                                   if (count := _papers_at(con, version)))
        print(f"\nRun here, as another machine would: {papers} papers now ({took * 1000:.0f} ms), "
              f"{snapshots} snapshots; at (version => {early}), the first with papers: {early_papers} papers")


def _papers_at(con, version: int) -> int:
    """The papers as of a snapshot (0 before the table existed)."""
    import duckdb

    try:
        return con.execute(f"select count(*) from lake.papers at (version => {version})").fetchone()[0]
    except duckdb.CatalogException:
        return 0


if __name__ == "__main__":
    sys.exit(main())
