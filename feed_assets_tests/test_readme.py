"""The README, executed: every example it shows runs on the bundled sample and answers.

Which blocks are executed (the convention, for whoever edits the README):

- every ```sql block: each statement runs on the sample's query copy (``data/query.duckdb``,
  what a reader opens) and must return at least one row;
- every ```python block runs in a folder laid out like the project (``.venv``, ``data/``
  holding the sample warehouse); when its last statement is an expression, its value must
  have rows;
- every ```sh block runs with ``bash -e`` in that folder, ``FEED_DATA_DIR`` pointing at its
  ``data/`` and ``DAGSTER_HOME`` at its ``.dagster_home``; it must exit 0, and a block that
  queries (``query`` or ``duckdb``) must print rows;
- a block is not executed when the line just before its opening fence is
  ``<!-- not executed: REASON -->`` (the reason is required: the network, a server that
  runs until stopped, the test suite itself);
- fences without a language (the source tree) are not code and are not run.

The sample warehouse is built once per session (``sample_warehouse``); the shell blocks run
on a copy of it, since one of them runs the documented backfill again.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
README = PROJECT_ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
NOT_EXECUTED = re.compile(r"^<!-- not executed: (?P<reason>.+?) -->$")


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int  # of the opening fence, 1-based
    section: str
    skip_reason: str | None

    @property
    def name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")
        return f"{self.language}-line{self.line}-{slug}"


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of the README with a language, where it is, and whether it is marked."""
    blocks, lines, section = [], text.splitlines(), ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        opening = FENCE.match(line)
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        marker = NOT_EXECUTED.match(lines[index - 1].strip()) if index else None
        if opening.group(1):
            blocks.append(Block(opening.group(1), "\n".join(lines[index + 1:end]) + "\n", index + 1, section,
                                marker.group("reason") if marker else None))
        index = end + 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
EXECUTED = [block for block in BLOCKS if block.skip_reason is None]


def test_the_convention_is_kept():
    languages = {block.language for block in BLOCKS}
    assert languages <= {"sh", "sql", "python"}, f"a block in a language the test does not run: {languages}"
    assert {block.language for block in EXECUTED} == {"sh", "sql", "python"}
    for marker in re.findall(r"<!-- not executed.*?-->", README.read_text(encoding="utf-8")):
        assert NOT_EXECUTED.match(marker), f"a marker without its reason: {marker}"


def test_the_parser_sees_markers_and_sections():
    blocks = readme_blocks("# A\n\n<!-- not executed: offline -->\n```sh\nmake ui\n```\n\n## B\n\n```sql\nselect 1;\n```\n"
                           "\n```\ntree\n```\n")
    assert [(b.language, b.section, b.skip_reason, b.code) for b in blocks] == [
        ("sh", "A", "offline", "make ui\n"), ("sql", "B", None, "select 1;\n")]


@pytest.fixture(scope="module")
def project_like(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like the project: ``.venv`` (this interpreter's) and ``data/`` (a copy
    of the sample warehouse)."""
    root = tmp_path_factory.mktemp("readme") / "feed-assets"
    root.mkdir()
    (root / ".venv").symlink_to(Path(sys.executable).parents[1], target_is_directory=True)
    shutil.copytree(sample_warehouse, root / "data", symlinks=True)
    return root


@pytest.mark.parametrize("block", [b for b in EXECUTED if b.language == "sql"], ids=lambda b: b.name)
def test_sql_example_answers(block: Block, sample_warehouse: Path):
    with duckdb.connect(str(sample_warehouse / "query.duckdb"), read_only=True) as con:
        statements = con.extract_statements(block.code)
        assert statements
        for statement in statements:
            rows = con.execute(statement.query).fetchall()
            assert rows, f"README line {block.line}: no rows on the sample for\n{statement.query}"


@pytest.mark.parametrize("block", [b for b in EXECUTED if b.language == "python"], ids=lambda b: b.name)
def test_python_example_answers(block: Block, project_like: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(project_like)
    monkeypatch.setenv("FEED_DATA_DIR", str(project_like / "data"))
    module = ast.parse(block.code)
    last = module.body.pop() if module.body and isinstance(module.body[-1], ast.Expr) else None
    namespace: dict = {}
    exec(compile(module, f"README.md:{block.line}", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), f"README.md:{block.line}", "eval"), namespace)
        assert len(value) > 0, f"README line {block.line}: the example's last expression has no rows"


def shell_environment(project_like: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items()
                   if key not in {"FEED_START_DATE", "FEED_END_DATE", "DAGSTER_HOME", "FEED_SOURCES"}}
    return {**environment, "FEED_DATA_DIR": str(project_like / "data"),
            "DAGSTER_HOME": str(project_like / ".dagster_home")}


@pytest.mark.parametrize("block", [b for b in EXECUTED if b.language == "sh"], ids=lambda b: b.name)
def test_shell_example_runs(block: Block, project_like: Path):
    (project_like / ".dagster_home").mkdir(exist_ok=True)
    done = subprocess.run(["bash", "-e", "-c", block.code], cwd=project_like, env=shell_environment(project_like),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"README line {block.line} failed:\n{block.code}\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
    if re.search(r"\bquery\b|duckdb", block.code):
        assert done.stdout.strip(), f"README line {block.line} printed nothing"
        assert not re.search(r"^\W*0 rows", done.stdout, re.M), f"README line {block.line} found no rows:\n{done.stdout}"
