"""`make test` runs under pytest-xdist with `--dist loadgroup`, and the suite's time rests on its
groups: a module's heavy tests share one worker (one browser server, one index), the lab checks
run once per run. Until 2026-12-07 nothing was grouped (pytest 9 no longer reads the node id
pytest-xdist 3.8 rewrites; tests/conftest.py's `name_groups`), which no test noticed: the suite
was only six minutes slower. This runs a small suite through this project's conftest under
`-n 2 --dist loadgroup` and checks where each test ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

RECORD = """
import json, os, pathlib
import pytest

def record(request):
    out = pathlib.Path(os.environ["GROUPS_OUT"]) / (request.node.name + ".json")
    out.write_text(json.dumps({"worker": os.environ.get("PYTEST_XDIST_WORKER"),
                               "nodeid": request.node.nodeid}))
"""


def _module(marks: str, names: list[str]) -> str:
    tests = "".join(f"\n\n{marks}def test_{n}(request):\n    record(request)\n" for n in names)
    return "from recorder import record\nimport pytest\n" + tests


@pytest.mark.slow  # starts pytest with two xdist workers
def test_grouped_tests_share_a_worker_under_loadgroup(tmp_path):
    suite, out = tmp_path / "suite", tmp_path / "out"
    suite.mkdir()
    out.mkdir()
    (suite / "recorder.py").write_text(RECORD)
    # A group named in the test file, split over two modules with ungrouped tests between them,
    # and a module whose tests the conftest groups itself because they are heavy (`browser`).
    named = "@pytest.mark.xdist_group('together')\n"
    (suite / "test_a_named.py").write_text(_module(named, [f"named_a{i}" for i in range(4)]))
    for m in "bcd":
        (suite / f"test_{m}_light.py").write_text(_module("", [f"light_{m}{i}" for i in range(8)]))
    (suite / "test_e_named.py").write_text(_module(named, [f"named_e{i}" for i in range(4)]))
    heavy = "@pytest.mark.browser\n"
    (suite / "test_f_heavy.py").write_text(_module(heavy, [f"heavy_f{i}" for i in range(6)]))

    path = os.pathsep.join(map(str, (suite, REPO, REPO / "tests")))
    env = {**os.environ, "GROUPS_OUT": str(out), "PYTHONPATH": path}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-n", "2", "--dist", "loadgroup", "--rootdir", str(suite), "-c", os.devnull, str(suite)],
        cwd=suite, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert len(ran) == 8 + 24 + 6, sorted(ran)

    named_tests = [v for k, v in ran.items() if k.startswith("test_named_")]
    heavy_tests = [v for k, v in ran.items() if k.startswith("test_heavy_")]
    assert {v["worker"] for v in named_tests} in ({"gw0"}, {"gw1"}), named_tests
    assert {v["worker"] for v in heavy_tests} in ({"gw0"}, {"gw1"}), heavy_tests
    # What loadgroup schedules by: the group at the end of the node id.
    assert all(v["nodeid"].endswith("@together") for v in named_tests)
    assert all(v["nodeid"].endswith("@test_f_heavy.py") for v in heavy_tests)
    assert not any("@" in v["nodeid"] for k, v in ran.items() if k.startswith("test_light_"))


class _Item:
    """What order_groups reads of a collected test: its xdist_group marks and fixtures."""

    def __init__(self, name: str, group: str | None = None, fixtures: tuple[str, ...] = ()):
        self.name, self.fixturenames = name, fixtures
        self._marks = [pytest.mark.xdist_group(group).mark] if group else []

    def iter_markers(self, name: str):
        return iter(self._marks if name == "xdist_group" else [])


def test_groups_that_need_the_course_index_are_handed_out_after_the_others():
    from conftest import order_groups

    index = ("course_derived",)
    items = [
        _Item("light1"),
        *(_Item(f"a{i}", "a") for i in range(3)),
        _Item("b0", "b"),
        _Item("b1", "b", index),  # one test of the group needs the index: the group waits
        _Item("calibration", "readiness-calibration"),
        *(_Item(f"s{i}", "search", index) for i in range(5)),
        *(_Item(f"d{i}", "d") for i in range(4)),
        _Item("light2"),
    ]
    order_groups(items)
    assert [item.name for item in items] == [
        "calibration",  # RUN_FIRST
        *(f"d{i}" for i in range(4)),  # no index: most tests first
        *(f"a{i}" for i in range(3)),
        *(f"s{i}" for i in range(5)),  # the index: most tests first, in their own order
        "b0",
        "b1",
        "light1",  # ungrouped tests last, in collection order
        "light2",
    ]
