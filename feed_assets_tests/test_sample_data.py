"""The sample inbox generator: reproducible bytes, the committed copy, and what it covers.

These tests read the generated files with the standard library only, so they do not
depend on the project's parsers.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from feed_assets.sample_data import (
    ABSTRACTS_FILE,
    ARXIV_FILE,
    FORMAT_FILES,
    HF_FILE,
    PAGE_FILE,
    PAGE_METADATA_FILE,
    fold,
    generate_sample_inbox,
    is_bundled_sample,
    main,
)

COMMITTED_INBOX = Path(__file__).resolve().parents[1] / "data" / "inbox"
DEFAULT_DAYS = [date(2024, 3, day).isoformat() for day in range(1, 17)]


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as ``{relative posix path: bytes}``."""
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One generation with the default arguments, shared by the read-only tests."""
    inbox = tmp_path_factory.mktemp("inbox")
    return inbox, generate_sample_inbox(inbox)


def test_same_arguments_give_the_same_bytes(tmp_path: Path) -> None:
    first = generate_sample_inbox(tmp_path / "a")
    second = generate_sample_inbox(tmp_path / "b")
    assert first == second
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_another_seed_gives_other_papers(tmp_path: Path) -> None:
    generate_sample_inbox(tmp_path / "a", seed=7)
    generate_sample_inbox(tmp_path / "b", seed=8)
    assert _tree(tmp_path / "a") != _tree(tmp_path / "b")


def test_rerun_replaces_only_its_day_folders(tmp_path: Path) -> None:
    generate_sample_inbox(tmp_path)
    stray = tmp_path / "2024-03-04" / "stray.txt"
    stray.write_text("left over")
    other_day = tmp_path / "2024-04-01"
    other_day.mkdir()
    (other_day / "keep.txt").write_text("not ours")
    generate_sample_inbox(tmp_path)
    assert not stray.exists()
    assert (other_day / "keep.txt").read_text() == "not ours"


def test_committed_inbox_equals_a_fresh_generation(generated: tuple[Path, dict]) -> None:
    inbox, _ = generated
    assert COMMITTED_INBOX.is_dir(), "run: python -m feed_assets.sample_data --out data/inbox"
    committed = {path: data for path, data in _tree(COMMITTED_INBOX).items()
                 if path.split("/")[0] in DEFAULT_DAYS}
    assert committed == _tree(inbox), (
        "data/inbox drifted from the generator; run: python -m feed_assets.sample_data --out data/inbox")


def test_covers_sixteen_days_and_every_format(generated: tuple[Path, dict]) -> None:
    inbox, summary = generated
    assert sorted(path.name for path in inbox.iterdir()) == DEFAULT_DAYS
    assert summary["days"] == 16
    present = {path.name for path in inbox.rglob("*") if path.is_file()}
    assert present == set(FORMAT_FILES)
    assert all(count > 0 for count in summary["files_by_format"].values())
    assert summary["files"] == len(_tree(inbox))
    assert summary["bytes"] == sum(len(data) for data in _tree(inbox).values())
    assert summary["bytes"] < 300_000


def test_weekends_have_only_an_empty_hf_array(generated: tuple[Path, dict]) -> None:
    inbox, _ = generated
    for day in DEFAULT_DAYS:
        names = sorted(path.name for path in (inbox / day).iterdir())
        if date.fromisoformat(day).weekday() >= 5:
            assert names == [HF_FILE]
            assert (inbox / day / HF_FILE).read_bytes() == b"[]"
        else:
            assert HF_FILE in names and ARXIV_FILE in names and len(names) == 3
            assert json.loads((inbox / day / HF_FILE).read_text(encoding="utf-8"))


def test_layouts_follow_the_feed_formats(generated: tuple[Path, dict]) -> None:
    inbox, _ = generated
    for day in DEFAULT_DAYS:
        folder = inbox / day
        month_day = f"Mar {date.fromisoformat(day).day}"
        for name in (PAGE_FILE, PAGE_METADATA_FILE):
            if (folder / name).exists():
                text = (folder / name).read_text(encoding="utf-8")
                assert text.startswith("new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\n")
                assert f"\n\nbyAK and the research community\n\n{month_day}\n\n" in text
                assert not text.endswith("\n")
        if (folder / PAGE_METADATA_FILE).exists():
            text = (folder / PAGE_METADATA_FILE).read_text(encoding="utf-8")
            assert "\n  \u2022 " in text and " authors\n\u00b7\n" in text
        if (folder / ABSTRACTS_FILE).exists():
            text = (folder / ABSTRACTS_FILE).read_text(encoding="utf-8")
            assert text.startswith("Abstract:") and not text.endswith("\n")
        if (folder / ARXIV_FILE).exists():
            text = (folder / ARXIV_FILE).read_text(encoding="utf-8")
            assert text.endswith("}\n")
            assert 5 <= len(text.splitlines()) <= 10


def test_planted_cases_are_where_the_summary_says(generated: tuple[Path, dict]) -> None:
    inbox, summary = generated

    def hf_items(day: str) -> list:
        return json.loads((inbox / day / HF_FILE).read_text(encoding="utf-8"))

    def arxiv_lines(day: str) -> list[str]:
        return (inbox / day / ARXIV_FILE).read_text(encoding="utf-8").splitlines()

    def abstract_lines(day: str) -> list[str]:
        return (inbox / day / ABSTRACTS_FILE).read_text(encoding="utf-8").split("\n")

    cases = {case["case"]: case for case in summary["planted_duplicates"]}
    assert set(cases) == {
        "same_day_hf_and_arxiv_then_repeat", "papers_page_first_then_arxiv",
        "hf_first_then_papers_page_metadata", "abstract_list_twin_of_arxiv",
        "abstract_list_only", "arxiv_versioned_id_then_hf"}

    same_day = cases["same_day_hf_and_arxiv_then_repeat"]
    first, listing, repeat = same_day["appearances"]
    assert first["date"] == listing["date"] < repeat["date"]
    hf_first = hf_items(first["date"])[first["index"]]
    hf_repeat = hf_items(repeat["date"])[repeat["index"]]
    record = json.loads(arxiv_lines(listing["date"])[listing["line"] - 1])
    assert hf_first["paper"]["id"] == hf_repeat["paper"]["id"] == record["id"] == same_day["arxiv_id"]
    assert "\n  " in hf_first["paper"]["title"] and "\n" not in record["title"]
    assert fold(hf_first["paper"]["title"]) == record["title"] == same_day["title"]
    assert hf_first["paper"]["upvotes"] != hf_repeat["paper"]["upvotes"]

    twin = cases["abstract_list_twin_of_arxiv"]
    listing, line = twin["appearances"]
    record = json.loads(arxiv_lines(listing["date"])[listing["line"] - 1])
    abstract_line = abstract_lines(line["date"])[line["line"] - 1]
    assert abstract_line.startswith("Abstract:")
    assert abstract_line[len("Abstract:"):] != record["summary"]
    assert fold(abstract_line[len("Abstract:"):]) == fold(record["summary"])

    for name in ("papers_page_first_then_arxiv", "hf_first_then_papers_page_metadata"):
        case = cases[name]
        dates = [appearance["date"] for appearance in case["appearances"]]
        assert len(set(dates)) == 2
        for appearance in case["appearances"]:
            if appearance["file"] == HF_FILE:
                title = hf_items(appearance["date"])[appearance["index"]]["paper"]["title"]
            elif appearance["file"] == ARXIV_FILE:
                title = json.loads(arxiv_lines(appearance["date"])[appearance["line"] - 1])["title"]
            else:
                text = (inbox / appearance["date"] / appearance["file"]).read_text(encoding="utf-8")
                assert f"\n\n{case['title']}\n\n" in text
                continue
            assert fold(title) == case["title"]

    versioned = cases["arxiv_versioned_id_then_hf"]
    listing, hf = versioned["appearances"]
    assert json.loads(arxiv_lines(listing["date"])[listing["line"] - 1])["id"] == versioned["arxiv_id"] + "v2"
    assert hf_items(hf["date"])[hf["index"]]["paper"]["id"] == versioned["arxiv_id"]

    malformed = sorted(case["case"] for case in summary["planted_malformed"])
    assert malformed == sorted([
        "hf_item_is_python_repr_string", "hf_item_is_python_repr_string",
        "hf_item_without_title_or_summary", "arxiv_line_is_broken_json",
        "abstract_line_without_prefix"])
    for case in summary["planted_malformed"]:
        if case["case"] == "hf_item_is_python_repr_string":
            item = hf_items(case["date"])[case["index"]]
            assert isinstance(item, str) and item.startswith("{'paper': {'id': ")
        elif case["case"] == "hf_item_without_title_or_summary":
            item = hf_items(case["date"])[case["index"]]
            assert not {"title", "summary"} & (set(item) | set(item["paper"]))
        elif case["case"] == "arxiv_line_is_broken_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(arxiv_lines(case["date"])[case["line"] - 1])
        else:
            assert not abstract_lines(case["date"])[case["line"] - 1].startswith("Abstract:")


def test_main_writes_and_prints_one_line_or_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--start", "2024-03-04", "--days", "2", "--seed", "1"]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"wrote 2 days (2024-03-04...2024-03-05) to {tmp_path}:") and line.count("\n") == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["2024-03-04", "2024-03-05"]
    assert main(["--out", str(tmp_path), "--start", "2024-03-04", "--days", "2", "--seed", "1", "--manifest"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["days"] == 2 and printed["start"] == "2024-03-04"


def test_the_bundled_sample_is_recognised_byte_for_byte(tmp_path: Path) -> None:
    assert is_bundled_sample(COMMITTED_INBOX)
    generate_sample_inbox(tmp_path)
    assert is_bundled_sample(tmp_path)
    day = sorted(tmp_path.iterdir())[3]
    victim = sorted(day.iterdir())[0]
    victim.write_bytes(victim.read_bytes() + b" ")
    assert not is_bundled_sample(tmp_path)
    generate_sample_inbox(tmp_path)
    (tmp_path / "2024-04-01").mkdir()
    assert not is_bundled_sample(tmp_path)
