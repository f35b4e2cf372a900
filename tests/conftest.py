"""Shared fixtures: an isolated TRIOPS_HOME, copies of content roots, the real repository; the
real model and the course's search index, each made once per test run (the model's vectors of
the course kept between runs in pytest's cache: StoredVectors); each lab's starter and solution
checked once per run; and the markers that say why a test is slow.

Markers, applied at collection from what a test uses (so `make test-fast`, which leaves them
out, cannot miss a test someone forgot to mark):
- `slow`: the real embedding model or a real index (the fixtures in MODEL_FIXTURES);
- `sandbox`: root and the labs' tool environment (SANDBOX_FIXTURES, or `require_sandbox()`
  called in the test);
- `browser`: a real chromium (the `browser` fixture).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import course_build
import pytest
from attacklib import (  # noqa: F401  (fixtures: the attack tests and every sandbox test)
    attack_sandbox,
    require_sandbox,
    root_only,
    root_required,
    sandbox_required,
)
from course_build import StoredVectors  # noqa: F401  (tests/test_stored_vectors.py)
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from triops import accounts
from triops.config import get_settings
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.store import connection
from triops.store.connection import database_url, open_state, open_state_file
from triops.tasks import register as register_tasks
from triops.testing import chromium_missing_reason, launch_chromium

register_tasks()  # the real exam profiles draw tasks (triops.quiz.hooks)

# A test process holds a large heap (Streamlit, pandas, the bank, the course), and CPython's
# cyclic collector at its default thresholds (700, 10, 10) ran about 5,000 young and 30 full
# collections in a few hundred tests, each full one walking that heap: 13 % of the process's CPU
# (tests/test_app_quiz, test_exam_engine and test_app in one process: 4.4 of 34 s). Collecting
# the youngest generation every 10,000 net allocations instead of 700 frees the same garbage,
# a little later, and takes 0.8 s of collecting there; test_concurrency, test_operations,
# test_store, test_review and test_accounts_app in one process went from 49.2 to 44.9 CPU s.
# Only the test processes: the apps and commands the tests start keep the defaults.
gc.set_threshold(10_000, 20, 10)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def no_search_warmup():
    """No app server a module or session fixture starts builds the search index in the
    background unless its test module asks (TRIOPS_SEARCH_WARMUP=1 in the server's env): such
    fixtures are made before the autouse triops_home below, and a browser module's server that
    inherited the developer's setting embedded the whole course while its tests ran."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIOPS_SEARCH_WARMUP", "0")
        yield


@pytest.fixture(autouse=True)
def triops_home(tmp_path, monkeypatch):
    """Every test gets its own runtime folder; nothing touches the developer's .triops/. The
    first open of its learner-state file in this process (the app's, through AppTest) starts
    from a copy of the migrated template (`from_template`)."""
    home = tmp_path / "home"
    monkeypatch.setenv("TRIOPS_HOME", str(home))
    monkeypatch.setattr(connection, "open_state_file", _home_state_from_template(home))
    # An app started in a test builds no search index unless the test asks for it (it costs a
    # core for about a minute); the search tests set TRIOPS_SEARCH_WARMUP=1.
    monkeypatch.setenv("TRIOPS_SEARCH_WARMUP", "0")
    monkeypatch.delenv("TRIOPS_ROOT", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


# The product hashes passwords with Argon2id at argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes:
# about 0.2 CPU s a hash or a check on this machine, much of it the kernel handing out the 64 MiB),
# and the account tests hash and check hundreds of times. In this process the tests hash with
# Argon2id at its smallest cost (8 KiB, 1 pass, 1 lane), through the same pwdlib and argon2-cffi
# code and the same stored format; a test that asks for `product_hasher` keeps the product's
# (test_accounts checks its parameters and signs in with it), as do the app and command processes
# the tests start (browser, cluster, subprocess CLI).
TEST_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))


@pytest.fixture
def product_hasher():
    """The product's password hasher (accounts._hasher), not the tests' cheap one."""
    return accounts._hasher()


@pytest.fixture(autouse=True)
def cheap_password_hashes(request, monkeypatch):
    # The decoy hash (what a name with no account is checked against) is made by whichever
    # hasher is in place: made again for each test.
    accounts._decoy_hash.cache_clear()
    if "product_hasher" not in request.fixturenames:
        monkeypatch.setattr(accounts, "_hasher", lambda: TEST_HASHER)
    yield
    accounts._decoy_hash.cache_clear()


# Each AppTest (its first run) scans every installed distribution's metadata for Streamlit
# components (streamlit.components.v2.manifest_scanner: about 450 METADATA files parsed, the
# largest cost of an AppTest's set-up on this machine). What is installed does not change during
# a test run, so once Streamlit is imported the scan's answer is kept for the run.
_SCANNED: list = []


def _scan_components_once() -> None:
    if _SCANNED or "streamlit" not in sys.modules:
        return
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    found: list = []

    def scanned_once(max_workers: int | None = None) -> list:
        if not found:
            found.append(scan(max_workers))
        return list(found[0])

    manifest_scanner.scan_component_manifests = scanned_once
    _SCANNED.append(scan)


@pytest.fixture(autouse=True)
def streamlit_components_scanned_once():
    _scan_components_once()


@pytest.fixture
def mini_root(tmp_path) -> Path:
    """A writable copy of the two-lesson fixture course."""
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    return root


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """A writable copy of the real course (content/ and data/)."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("content", "data"):
        shutil.copytree(REPO / name, root / name)
    return root


# A few real modules of the course (258 lesson passages on 2026-12-06, against 1,698 for the
# whole course): five batches of 64, enough for a build's progress to move, in a sixth of the time.
SMALL_COURSE = (
    "devops/foundations",
    "devops/lifecycle",
    "devops/engineering",
    "devops/platform-operations",
    "mlops/foundations",
    "mlops/lifecycle",
)


@pytest.fixture
def small_course(tmp_path) -> Path:
    """A course root holding a few real modules of the course (SMALL_COURSE) with its tracks,
    knowledge files, data, exam guides and vocabulary, but no question bank or labs, for a test
    that indexes a course from nothing, as a first install does (the whole course takes about
    two minutes to embed on this machine). Its lessons' links to lessons left out dangle."""
    root = tmp_path / "small-course"
    (root / "content").mkdir(parents=True)
    shutil.copy2(REPO / "content" / "tracks.yaml", root / "content" / "tracks.yaml")
    shutil.copytree(REPO / "content" / "knowledge", root / "content" / "knowledge")
    for module in SMALL_COURSE:
        shutil.copytree(REPO / "content" / module, root / "content" / module)
    shutil.copytree(REPO / "data", root / "data")
    (root / "quizzes").mkdir()
    shutil.copytree(REPO / "quizzes" / "guides", root / "quizzes" / "guides")
    shutil.copy2(REPO / "quizzes" / "vocabulary.yaml", root / "quizzes" / "vocabulary.yaml")
    return root


@pytest.fixture
def use_root(monkeypatch):
    """Point TRIOPS_ROOT at a folder for the code under test."""

    def _use(root: Path) -> Path:
        monkeypatch.setenv("TRIOPS_ROOT", str(root))
        get_settings.cache_clear()
        return root

    return _use


@pytest.fixture(scope="session")
def browser():
    reason = chromium_missing_reason()
    if reason:
        if os.environ.get("TRIOPS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser required (TRIOPS_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


# --------------------------------------------------------------------------- markers

# A test that uses one of these (directly or through another fixture) loads the real model or
# builds a real index: it is marked `slow`.
MODEL_FIXTURES = frozenset(
    {
        "embedder",
        "stored_embedder",
        "course_derived",
        "derived_copy",
        "indexed_home",
        "encoder_home",
        "index_of",
        "lesson_index",
    }
)
# A test that uses one of these, or calls require_sandbox(), needs root and the labs' tool
# environment: it is marked `sandbox`.
SANDBOX_FIXTURES = frozenset(
    {"sandbox_required", "root_required", "attack_sandbox", "drift_sandbox", "lab_check"}
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        code = getattr(getattr(item, "function", None), "__code__", None)
        if names & MODEL_FIXTURES:
            item.add_marker(pytest.mark.slow)
        if names & SANDBOX_FIXTURES or "require_sandbox" in getattr(code, "co_names", ()):
            item.add_marker(pytest.mark.sandbox)
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
    group_heavy_tests(items)
    name_groups(config, items)


# Under pytest-xdist with --dist loadgroup (`make test`), tests of one xdist_group run on one
# worker, in file order. The heavy tests of a module (model, sandbox, browser) form one group, so
# its module-scoped fixtures (an index, one browser server) are made once; the modules whose
# tests check labs through `lab_check` form one group, so each lab's starter and solution are
# checked once per run. The light tests go to whichever worker is free.
HEAVY = ("slow", "sandbox", "browser")


def group_heavy_tests(items) -> None:
    def module(item) -> str:
        return item.nodeid.split("::", 1)[0]

    labs = {module(item) for item in items if "lab_check" in getattr(item, "fixturenames", ())}
    for item in items:
        if group_of(item) is not None:
            continue  # a group the test file names (several modules sharing a fixture's work)
        if any(item.get_closest_marker(name) for name in HEAVY):
            name = module(item)
            item.add_marker(pytest.mark.xdist_group("lab-checks" if name in labs else name))
    order_groups(items)


# tests/test_readiness.py's calibration simulations (about 16 CPU s in one test).
RUN_FIRST = frozenset({"readiness-calibration"})


def needs_index(item) -> bool:
    return "course_derived" in getattr(item, "fixturenames", ())


def order_groups(items) -> None:
    """The order in which `--dist loadgroup --no-loadscope-reorder` (`make test`) hands out the
    work, one group (or one ungrouped test) at a time to whichever worker is free:
    1. RUN_FIRST, the longest group of the fast subset;
    2. the groups that need no course index, those with the most tests first (as xdist's own
       reorder does);
    3. the groups with a test that needs the course index, most tests first: by the time a
       worker reaches them, the index built in the background since the run began
       (`course_prebuild`) is ready or nearly, where with xdist's order a worker began with
       the largest such group and waited about three minutes for it;
    4. the ungrouped tests, small ones that even out the end of the run.
    A sort by these keys is stable, so the tests of a group keep their order."""
    counts: dict[str, int] = {}
    index: set[str] = set()
    for item in items:
        group = group_of(item)
        if group is not None:
            counts[group] = counts.get(group, 0) + 1
            if needs_index(item):
                index.add(group)

    def key(item) -> tuple[int, int]:
        group = group_of(item)
        if group is None:
            return (4, 0)
        if group in RUN_FIRST:
            return (1, 0)
        return (3 if group in index else 2, -counts[group])

    items.sort(key=key)


def group_of(item) -> str | None:
    names = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
    return "_".join(names) or None


def name_groups(config, items) -> None:
    """Put each grouped test's group in its node id (`path::test@group`), which is what
    `--dist loadgroup` schedules by. pytest-xdist 3.8 does it in its own collection hook by
    setting item._nodeid, which pytest 9 no longer reads (a node's id is item._id), so no test
    was grouped: a module's heavy tests and the lab checks ran on both workers, each making its
    own module fixtures and lab checks. xdist's hook also runs before this file's, so it could
    not see the groups marked above in any case."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        group = group_of(item)
        if group and not item.nodeid.endswith(f"@{group}"):
            item._id = type(item._id).parse(f"{item.nodeid}@{group}")


# ---------------------------------------------------------------------- the model and the index

# The real course embedded once per run (1,698 passages on 2026-12-06: the costliest setup of the
# suite, two to three minutes on this 2-core machine under load) and the model loaded once. Every
# test that needs either shares these; a test that must build from nothing (a first build's
# progress, a fresh home) keeps its own folder on purpose.


@dataclasses.dataclass(frozen=True)
class CourseIndex:
    """The course's first build: the index, its BuildStats, its derived folder (the artifact and
    the saved query encoder: read it, never write into it), the texts it encoded, the chunks."""

    index: Any
    stats: Any
    derived: Path
    encodes: int
    chunks: list


def copy_derived(source: Path, target: Path, pattern: str = "*") -> Path:
    """A private copy of a derived folder (of its files matching `pattern`). The index artifact
    is copied; the saved query encoder (90 MB) is hard-linked, which is safe because it is only
    ever replaced whole (os.replace), never written in place."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if not path.is_file() or not fnmatch(path.name, pattern):
            continue
        if path.suffix == ".pt":
            try:
                os.link(path, target / path.name)
                continue
            except OSError:
                pass
        shutil.copy2(path, target / path.name)
    return target


def run_folder(tmp_path_factory) -> Path:
    """A folder every process of this test run shares: under pytest-xdist each worker has its
    own basetemp, and their common parent is the run's (the standard xdist pattern)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def course_home(tmp_path_factory) -> Path:
    """The run's TRIOPS_HOME for the course index, shared by the xdist workers: derived/ holds
    the index artifact and the saved query encoder. Tests get copies of it (`derived_copy`,
    `indexed_home`); tests/course_build.py's locks guard their making."""
    home = run_folder(tmp_path_factory) / "course-home"
    home.mkdir(exist_ok=True)
    return home


@pytest.fixture(scope="session")
def embedder(course_home):
    """The real packaged model, loaded once per process. The first load of the run traces the
    query encoder and saves it in the run's derived/ (the other processes then read it), so a
    page or a child process given a copy reads it instead of tracing."""
    return course_build.load_model(course_home)


def vector_folder(config) -> Path | None:
    """Where StoredVectors keeps its files: pytest's cache (None under -p no:cacheprovider)."""
    cache = getattr(config, "cache", None)
    return cache.mkdir("triops-vectors") if cache is not None else None


@pytest.fixture(scope="module")
def stored_embedder(request, embedder):
    """The session's model behind the vectors it gave this module's texts in earlier runs
    (StoredVectors, one file per module, written when the module ends), for the module
    fixtures that ask the course many questions (Ask's labelled sets, the calibration). A test
    of the model itself, or of what encoding counts, uses `embedder`."""
    stored = StoredVectors(embedder, vector_folder(request.config), request.module.__name__)
    yield stored
    stored.save()


@pytest.fixture(scope="session")
def course_derived(pytestconfig, course_home, embedder) -> CourseIndex:
    """The real course indexed once per run as the app indexes it (lessons, practice questions
    and labs: search.service.course_chunks), from nothing, into the run's derived/. The
    background build (`course_prebuild`) or the first process to ask builds it and notes its
    BuildStats; the others open the artifact and read the same first build's figures. The
    build asks the model through StoredVectors: only the passages that changed since an
    earlier run are encoded again."""
    chunks = course_build.chunks()
    index, stats, encodes = course_build.built_or_build(
        course_home, embedder, vector_folder(pytestconfig), chunks
    )
    return CourseIndex(index, stats, course_home / "derived", encodes, chunks)


@pytest.fixture(scope="session", autouse=True)
def course_prebuild(request, course_home, tmp_path_factory):
    """When this run has a test that needs the course index, the first test process to start
    has it built in a background process (tests/course_build.py), so that no process waits
    idle while one builds it. That process ends by itself (tests/course_build.py `start`)."""
    if not any("course_derived" in item.fixturenames for item in request.session.items):
        yield None
        return
    log = run_folder(tmp_path_factory) / "course-build.log"
    child = course_build.start(course_home, vector_folder(request.config), log)
    yield child
    if child is not None:
        child.poll()  # reaped if it is done; if not, it ends with the run


@pytest.fixture
def derived_copy(course_derived, tmp_path) -> Path:
    """A derived folder of this test's own holding the course index and the saved encoder: a
    build into it encodes only the passages the course index lacks."""
    return copy_derived(course_derived.derived, tmp_path / "derived-copy")


@pytest.fixture
def indexed_home(course_derived, triops_home) -> Path:
    """This test's TRIOPS_HOME with the course index and the saved query encoder in derived/:
    Search, Ask and the eval child find them current and build nothing."""
    copy_derived(course_derived.derived, triops_home / "derived")
    return triops_home


@pytest.fixture
def encoder_home(embedder, course_home, triops_home) -> Path:
    """This test's TRIOPS_HOME with the saved query encoder alone in derived/ (no course index),
    as an installation has it once its search has been built: an eval child then encodes with
    it and never loads sentence-transformers (about 7 s a child on this machine)."""
    copy_derived(course_home / "derived", triops_home / "derived", "query-encoder-*")
    return triops_home


@pytest.fixture(scope="session")
def index_of(course_derived, embedder, tmp_path_factory) -> Callable[[list], Any]:
    """index_of(chunks): an index of these passages, built in a copy of the course index's
    folder, so a passage of the course is not encoded again."""
    from triops.search.index import build_index

    def build(chunks: list):
        folder = copy_derived(course_derived.derived, tmp_path_factory.mktemp("derived"))
        index, _ = build_index(chunks, embedder, folder)
        return index

    return build


@pytest.fixture(scope="session")
def ask_pairs_results(pytestconfig, lesson_index, embedder):
    """Every labelled question of tests/fixtures/ask_pairs.yaml asked once over the course's
    lessons, with no threshold (triops.search.ask.run_pairs): what test_ask calibrates Ask on
    and test_evals_calibration scores the semantic assertions on. The two modules share the
    xdist group ASK_PAIRS, so one process asks them once. The model's vectors of the questions
    and sentences are kept between runs (StoredVectors)."""
    from triops.search.ask import load_pairs, run_pairs

    stored = StoredVectors(embedder, vector_folder(pytestconfig), "ask-pairs")
    yield run_pairs(load_pairs(FIXTURES / "ask_pairs.yaml"), lesson_index, stored)
    stored.save()


# The xdist group of the modules that use `ask_pairs_results`.
ASK_PAIRS = "ask-pairs"


@pytest.fixture(scope="session")
def lesson_index(index_of):
    """The course's lessons alone, without questions or labs (what Ask is calibrated on)."""
    from triops.content.loader import load_course
    from triops.search.chunks import collect

    return index_of(collect(load_course(REPO)))


# --------------------------------------------------------------------------- the labs' checks

# A lab check runs the lab's workflow in the sandbox (several times: the check reruns sabotaged
# variants), 10 to 60 s each. Each lab's starter and solution are checked once per run, through
# the CLI, and the tests of the CLI, of the check's criteria and of the run's artifacts share them.


@dataclasses.dataclass(frozen=True)
class LabCheck:
    """`triops lab reset|solve LAB --dir WORK` then `triops lab check LAB --dir WORK`, in process:
    both exit codes, the check's output, and its CheckResult with the run's artifacts kept
    (the command removes its own copy)."""

    lab_id: str
    side: str
    written: int
    exit_code: int
    stdout: str
    result: Any
    work: Path


@pytest.fixture(scope="session")
def lab_check(tmp_path_factory) -> Callable[[str, str], LabCheck]:
    """lab_check(lab_id, "starter" | "solution"): that side of the lab, checked once per run."""
    from typer.testing import CliRunner

    from triops.cli import app
    from triops.labs import runs

    done: dict[tuple[str, str], LabCheck] = {}

    def check(lab_id: str, side: str) -> LabCheck:
        require_sandbox()
        if (lab_id, side) in done:
            return done[(lab_id, side)]
        folder = tmp_path_factory.mktemp(f"{lab_id}-{side}")
        work, kept = folder / "work", folder / "artifacts"
        real, seen = runs.check, []

        def keeping(*args, **kwargs):
            result = real(*args, **kwargs)
            shutil.copytree(result.run.artifacts, kept, symlinks=True)
            run = dataclasses.replace(result.run, artifacts=kept)
            seen.append(dataclasses.replace(result, run=run))
            return result

        runner = CliRunner()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TRIOPS_HOME", str(folder / "home"))
            mp.delenv("TRIOPS_ROOT", raising=False)
            mp.setattr(runs, "check", keeping)
            get_settings.cache_clear()
            try:
                verb = "reset" if side == "starter" else "solve"
                written = runner.invoke(app, ["lab", verb, lab_id, "--dir", str(work)])
                checked = runner.invoke(app, ["lab", "check", lab_id, "--dir", str(work)])
            finally:
                get_settings.cache_clear()
        if len(seen) != 1:
            raise RuntimeError(f"lab check {lab_id} ({side}) gave no result: {checked.output}")
        done[(lab_id, side)] = LabCheck(
            lab_id, side, written.exit_code, checked.exit_code, checked.stdout, seen[0], work
        )
        return done[(lab_id, side)]

    return check


# The real bank and exam profiles (read once per module) and a fresh learner-state file per
# test: what most store, exam and cohort tests start from. A module defines its own to differ.
@pytest.fixture(scope="module")
def bank():
    return load_bank(REPO)


@pytest.fixture(scope="module")
def exams(bank):
    return load_exams(REPO, bank)


# A learner-state file migrated once per test process: a test's new state file starts as a copy
# of it (about a third of the CPU of migrating from nothing, 30 against 85 ms on this machine),
# and open_state still checks its migrations on it, as at every start. The tests of migrating
# itself (test_store, test_postgres) open files of their own.
_TEMPLATES: dict[str, Path] = {}


def from_template(path: Path) -> None:
    """Put a copy of the process's migrated template at `path` (a DuckDB file not there yet)."""
    template = _TEMPLATES.get("duckdb")
    if template is None or not template.is_file():
        folder = Path(tempfile.mkdtemp(prefix="triops-state-template-"))
        template = folder / "state.duckdb"
        open_state_file(template).close()
        _TEMPLATES["duckdb"] = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)


def fresh_state(path: Path):
    """open_state(path) on a new learner-state file: a copy of the process's migrated template
    when the file is not there yet and the backend is DuckDB (with TRIOPS_DATABASE_URL set,
    open_state opens PostgreSQL, as the test asked)."""
    if database_url() is None and not path.exists():
        from_template(path)
    return open_state(path)


def _home_state_from_template(home: Path) -> Callable[..., Any]:
    """open_state_file for this test: the test home's state file, when it is not there yet,
    starts as a copy of the template. An AppTest page opens it in this process, and migrating
    it from nothing was about a quarter of the CPU of the app's script runs in the AppTest
    modules (2026-12-07); the app started as a process of its own, the CLI in a subprocess and
    every other file still migrate from nothing, as do the migration tests (test_store,
    test_postgres) on files of their own."""
    state = (home / "state.duckdb").resolve()

    def opener(path: Path, **kwargs):
        if Path(path).resolve() == state and not state.exists():
            from_template(state)
        return open_state_file(path, **kwargs)

    return opener


@pytest.fixture(scope="session", autouse=True)
def state_templates_removed():
    yield
    for template in _TEMPLATES.values():
        shutil.rmtree(template.parent, ignore_errors=True)


@pytest.fixture
def db(tmp_path):
    conn = fresh_state(tmp_path / "state.duckdb")
    yield conn
    conn.close()
