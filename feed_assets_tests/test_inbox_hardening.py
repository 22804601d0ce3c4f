"""The inbox reads only what is inside it, and says which folders it skips."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from feed_assets import cli
from feed_assets.parsing import UnknownFormatError
from feed_assets.sources.collect import collect_inbox_day
from feed_assets.sources.inbox import InboxFileError, inbox_days, read_day, scan_inbox
from feed_assets.sources.raw_store import RawStore
from feed_assets_tests.conftest import days_not_loaded

DAY = dt.date(2024, 3, 4)
SECRET = "root:x:0:0:the secret first line\n"


@pytest.fixture
def inbox(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "passwd").write_text(SECRET)
    folder = tmp_path / "data" / "inbox" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "abstracts.txt").write_text("Abstract:One.\n")
    return tmp_path / "data" / "inbox"


def test_a_symlink_out_of_the_inbox_is_refused_naming_the_file_and_never_read(inbox, tmp_path):
    (inbox / DAY.isoformat() / "sneaky.txt").symlink_to(tmp_path / "outside" / "passwd")
    with pytest.raises(InboxFileError) as raised:
        read_day(inbox, DAY)
    message = str(raised.value)
    assert message.startswith("2024-03-04/sneaky.txt: refused, it resolves outside the inbox")
    assert "secret" not in message and isinstance(raised.value, UnknownFormatError)
    store = RawStore(tmp_path / "raw")
    with pytest.raises(InboxFileError):
        collect_inbox_day(store, inbox, tmp_path / "data", DAY)
    assert not (tmp_path / "raw").exists()  # nothing of the day was stored


def test_a_day_folder_linked_out_of_the_inbox_is_refused(inbox, tmp_path):
    other = DAY + dt.timedelta(days=1)
    (inbox / other.isoformat()).symlink_to(tmp_path / "outside")
    with pytest.raises(InboxFileError, match="2024-03-05/passwd: refused"):
        read_day(inbox, other)


def test_a_symlink_inside_the_inbox_is_read(inbox):
    (inbox / "shared").mkdir()
    (inbox / "shared" / "list.txt").write_text("Abstract:Two.\n")
    (inbox / DAY.isoformat() / "linked.txt").symlink_to(inbox / "shared" / "list.txt")
    assert [(f.origin, f.data) for f in read_day(inbox, DAY)] == [
        ("2024-03-04/abstracts.txt", b"Abstract:One.\n"), ("2024-03-04/linked.txt", b"Abstract:Two.\n")]


def test_folders_not_named_yyyy_mm_dd_are_skipped_and_listed(inbox, monkeypatch):
    for name in ("20250402", "2025-02-30", "misc", "２０２５-０４-０２"):
        (inbox / name).mkdir()
    scan = scan_inbox(inbox)
    assert scan.days == [DAY] == inbox_days(inbox)
    assert scan.skipped == sorted(["20250402", "2025-02-30", "misc", "２０２５-０４-０２"])
    monkeypatch.setenv("FEED_DATA_DIR", str(inbox.parent))
    result = CliRunner().invoke(cli.main, ["inbox-range"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "2024-03-04...2024-03-04"
    assert "skipped 4 folder(s) of the inbox not named YYYY-MM-DD" in result.stderr and "20250402" in result.stderr


def test_a_refused_file_fails_its_day_by_name_and_the_other_days_load(feed, tmp_path):
    good, bad = DAY, DAY + dt.timedelta(days=1)
    (tmp_path / "passwd").write_text(SECRET)
    for day in (good, bad):
        (feed.inbox / day.isoformat()).mkdir()
        (feed.inbox / day.isoformat() / "abstracts.txt").write_text(f"Abstract:Paper of {day}.\n")
    (feed.inbox / bad.isoformat() / "sneaky.txt").symlink_to(tmp_path / "passwd")
    result = feed.materialize(good, bad)
    message = days_not_loaded(result)
    assert "2024-03-05: 2024-03-05/sneaky.txt: refused, it resolves outside the inbox" in message
    assert "secret" not in message
    assert feed.query("select feed_date from raw_dumps") == [(good,)]


def test_bytes_stored_by_two_threads_at_once_keep_the_first_file_and_its_time(tmp_path, monkeypatch):
    """Two threads storing the same bytes (days holding the same file, collected at once) both
    find them absent, then write: the second must not replace the first, or the two rows of
    ``raw_dumps`` would get different ``stored_at`` (and a re-run would change one of them)."""
    store = RawStore(tmp_path / "raw")
    first = store.put(b"the same dump on two days")
    os.utime(first.path, (1_600_000_000, 1_600_000_000))  # an older time, to tell the files apart
    path_exists, checked = Path.exists, []

    def exists(path: Path) -> bool:  # the second thread looked before the first one's file was in place
        if path == first.path and not checked:
            checked.append(path)
            return False
        return path_exists(path)
    monkeypatch.setattr(Path, "exists", exists)
    second = store.put(b"the same dump on two days")
    assert checked and second.path == first.path and second.stored_at == dt.datetime(2020, 9, 13, 12, 26, 40)
    assert first.path.stat().st_mtime == 1_600_000_000
    assert [p.name for p in first.path.parent.iterdir()] == [first.path.name]  # no temp file left
