"""Integration tests: the command reads real files and processes and prints JSON lines."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from textstats.cli import main

DATA = Path(__file__).parent / "data"
SRC = Path(__file__).resolve().parents[2] / "src"


def run(capsys, *args):
    """Run the command in-process; return its exit status and the JSON records it printed."""
    status = main([str(arg) for arg in args])
    out = capsys.readouterr().out
    return status, [json.loads(line) for line in out.splitlines()]


def test_release_notes_are_summarized(capsys):
    status, [record] = run(capsys, DATA / "release-notes.txt")
    assert status == 0
    assert record["file"].endswith("release-notes.txt")
    assert record["words"] == 57
    assert record["unique_words"] == 43
    assert record["sentences"] == 7
    assert record["top_words"][:2] == [["words", 3], ["estimate", 2]]


def test_one_json_line_per_file_in_argument_order(tmp_path, capsys):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("alpha beta", encoding="utf-8")
    second.write_text("gamma", encoding="utf-8")
    status, records = run(capsys, second, first)
    assert status == 0
    assert [(r["file"], r["words"]) for r in records] == [(str(second), 1), (str(first), 2)]


def test_options_reach_the_statistics(tmp_path, capsys):
    long_file = tmp_path / "long.txt"
    long_file.write_text("ship it " * 300, encoding="utf-8")  # 600 words
    _, [default] = run(capsys, long_file)
    _, [faster] = run(capsys, "--wpm", 300, "--top", 1, long_file)
    assert default["reading_minutes"] == 3
    assert faster["reading_minutes"] == 2
    assert faster["top_words"] == [["ship", 300]]


def test_dash_reads_standard_input(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Read me from a pipe."))
    status, [record] = run(capsys, "-")
    assert status == 0
    assert (record["file"], record["words"], record["sentences"]) == ("-", 5, 1)


def test_missing_file_is_reported_with_exit_status_1(tmp_path, capsys):
    status = main([str(tmp_path / "nope.txt")])
    assert status == 1
    assert "cannot read" in capsys.readouterr().err


def test_python_dash_m_runs_the_command_in_a_new_process():
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run(
        [sys.executable, "-m", "textstats", "--top", "1", str(DATA / "release-notes.txt")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["top_words"] == [["words", 3]]
