"""DuckDB's extensions for DuckLake, from the Python packages that ship them, never downloaded.

A DuckLake warehouse (``FEED_WAREHOUSE=ducklake:postgres:...``) needs three extensions:
``ducklake``, ``postgres`` (its catalog) and ``httpfs`` (data files on S3). DuckDB would
fetch them from its extension repository on first use; here they come from PyPI packages
(``duckdb-extension-ducklake``, ``-postgres``, ``-httpfs``) that hold DuckDB's own signed
binaries for the pinned DuckDB release, under ``<package>/extensions/v<duckdb>/``.

``install_extensions`` copies each binary where DuckDB looks for installed extensions (the
connection's ``extension_directory``, by default ``~/.duckdb/extensions/v<duckdb>/<platform>/``)
with ``INSTALL '<file>'``, once; from then on ``LOAD ducklake`` (and DuckDB's autoloading)
works offline in any process. ``load_extensions`` installs what is missing and loads all
three. DuckDB checks each binary's signature when it loads it: unsigned extensions are
never allowed (``allow_unsigned_extensions`` stays false), so a tampered file fails to load.

``python -m feed_assets.warehouse.extensions`` installs them and prints where they are.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from feed_assets.warehouse.schema import sql_string

# the name DuckDB loads each extension by, and the package that ships its binary
EXTENSION_PACKAGES: dict[str, str] = {
    "ducklake": "duckdb_extension_ducklake",
    "postgres": "duckdb_extension_postgres",
    "httpfs": "duckdb_extension_httpfs",
}
# DuckDB's own names for them in duckdb_extensions() (it installs `postgres` as postgres_scanner)
CANONICAL_NAMES: dict[str, str] = {"ducklake": "ducklake", "postgres": "postgres_scanner", "httpfs": "httpfs"}


class ExtensionMissingError(RuntimeError):
    """An extension package is not installed, or holds no binary for this DuckDB release."""


def duckdb_release() -> str:
    """The running DuckDB's release as extension folders name it (``v1.5.5``)."""
    return "v" + duckdb.__version__.split("+")[0].split("-")[0]


def extension_file(name: str) -> Path:
    """The shipped binary of extension ``name`` for the running DuckDB release."""
    package = EXTENSION_PACKAGES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionMissingError(f"the Python package {package} (pip: {package.replace('_', '-')}) is not "
                                    f"installed: the {name} extension cannot be loaded offline")
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions" / duckdb_release()
    files = sorted(folder.glob("*.duckdb_extension"))
    if not files:
        raise ExtensionMissingError(f"{package} has no extension for DuckDB {duckdb_release()} in {folder}: "
                                    "install the release of it built for the pinned DuckDB")
    return files[0]


def installed_extensions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Installed extensions of ours whose file is in place: canonical name -> install path."""
    rows = con.execute("select extension_name, install_path from duckdb_extensions() "
                       "where installed and extension_name in (select unnest(?::varchar[]))",
                       [list(CANONICAL_NAMES.values())]).fetchall()
    return {name: path for name, path in rows if path and Path(path).is_file()}


def install_extensions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Install each extension that is not installed yet from its package's binary, where DuckDB
    looks for it; returns the names installed now (none when all were in place)."""
    present = installed_extensions(con)
    installed = []
    for name in EXTENSION_PACKAGES:
        if CANONICAL_NAMES[name] in present:
            continue
        con.execute(f"install {sql_string(str(extension_file(name)))}")
        installed.append(name)
    return installed


def load_extensions(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Install (if needed) and load ``ducklake``, ``postgres`` and ``httpfs``, signatures checked."""
    install_extensions(con)
    for name in EXTENSION_PACKAGES:
        con.execute(f"load {name}")
    return con


def main() -> None:
    """Install the extensions where DuckDB looks, load them, and say where they are."""
    with duckdb.connect() as con:
        load_extensions(con)
        for name, path in sorted(installed_extensions(con).items()):
            print(f"{name}: {path}")


if __name__ == "__main__":
    main()
