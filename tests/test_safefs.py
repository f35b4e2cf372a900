"""triops.labs.safefs: the root runner's file operations never follow links, never block on a
FIFO, and stop at their caps and deadlines (the attack tests play the same through a run)."""

from __future__ import annotations

import os
import time

import pytest

from triops.labs.safefs import Confined, TooLarge, TooSlow, UnsafePath, parts_of, read_json


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "work"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "file.txt").write_text("inside\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside\n")
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret.txt", root / "secret-link")
    os.mkfifo(root / "fifo")
    return root


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../x", "sub/../../x"])
def test_paths_that_leave_the_folder_are_refused(path):
    with pytest.raises(UnsafePath):
        parts_of(path)


def test_a_link_anywhere_on_the_path_is_refused(folder):
    with Confined(folder) as box:
        with pytest.raises(UnsafePath, match="link"):
            box.read_file("link/secret.txt", 100)
        with pytest.raises(UnsafePath, match="link"):
            box.read_file("secret-link", 100)
        with pytest.raises(UnsafePath, match="link"):
            box.write_file("link/new.txt", b"x")
        with pytest.raises(UnsafePath):
            box.copy_in(folder / "sub", "link", budget=1000)
    assert sorted(p.name for p in (folder.parent / "outside").iterdir()) == ["secret.txt"]


def test_a_fifo_is_refused_at_once_rather_than_read(folder):
    started = time.monotonic()
    with Confined(folder) as box:
        with pytest.raises(UnsafePath, match="not a regular file"):
            box.read_file("fifo", 100)
    assert time.monotonic() - started < 1


def test_writing_over_a_link_replaces_the_link_not_its_target(folder):
    with Confined(folder) as box:
        box.write_file("secret-link", b"mine")
    assert (folder / "secret-link").read_bytes() == b"mine"
    assert not (folder / "secret-link").is_symlink()
    assert (folder.parent / "outside" / "secret.txt").read_text() == "outside\n"


def test_reads_and_copies_stop_at_their_caps(folder, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "sparse", "wb") as handle:
        handle.truncate(50 << 20)  # 50 MB apparent, almost no blocks
    with Confined(folder) as box:
        with pytest.raises(TooLarge):
            box.read_file("sub/file.txt", 3)
        with pytest.raises(TooLarge, match="would pass"):
            box.copy_in(big, "copy", budget=10 << 20)


def test_walks_never_follow_links_and_stop_at_entries_and_deadline(folder):
    with Confined(folder) as box:
        entries = {e.path: e.kind for e in box.walk()}
        assert entries == {
            "fifo": "other",
            "link": "link",
            "secret-link": "link",
            "sub": "dir",
            "sub/file.txt": "file",
        }
        with pytest.raises(TooLarge):
            list(box.walk(max_entries=2))
        with pytest.raises(TooSlow):
            list(box.walk(deadline=time.monotonic() - 1))


def test_removing_children_does_not_reach_through_links(folder):
    with Confined(folder) as box:
        box.remove_children("")
    assert list(folder.iterdir()) == []
    assert (folder.parent / "outside" / "secret.txt").exists()


def test_read_json_refuses_what_is_not_a_small_regular_json_file(tmp_path):
    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert read_json(tmp_path / "ok.json") == {"a": 1}
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        read_json(tmp_path / "deep.json")
    with pytest.raises(TooLarge):
        read_json(tmp_path / "ok.json", limit=3)
    os.symlink(tmp_path / "ok.json", tmp_path / "link.json")
    with pytest.raises(UnsafePath):
        read_json(tmp_path / "link.json")
