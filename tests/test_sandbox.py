"""The labs sandbox contains each attack: one test per attack, plus the basics of a run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO
from triops.errors import InvalidInputError
from triops.labs.sandbox import (
    PROTECTIONS,
    Limits,
    Sandbox,
    SandboxError,
    SandboxResult,
    processes_of,
)

# Dropping to a pool UID, RLIMIT_NPROC and killing every process of a UID only work as root:
# skip without it, fail instead under TRIOPS_REQUIRE_SANDBOX=1 (CI runs as root).
pytestmark = pytest.mark.usefixtures("root_required")

PY = "/usr/bin/python3"
UIDS = range(61900, 61916)  # away from the default pool, so a running app is never touched
FAST = Limits(
    wall_seconds=10,
    cpu_seconds=5,
    memory_mb=256,
    processes=32,
    open_files=64,
    file_size_mb=4,
    disk_mb=16,
    output_bytes=100_000,
    files=500,
)
LABS_VENV = Path(os.environ.get("TRIOPS_LABS_VENV", "/var/tmp/triops-labs-venv"))


@pytest.fixture(scope="module")
def sandbox():
    # Under the system temp dir, not pytest's tmp_path: /tmp/pytest-of-root is 0700, which a
    # sandbox UID cannot traverse.
    root = Path(tempfile.gettempdir()) / f"triops-sandbox-test-{os.getpid()}"
    sb = Sandbox(root=root, uids=UIDS)
    yield sb
    sb.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def box(sandbox):
    work = sandbox.workdir()
    yield work
    sandbox.cleanup(work)


def py(sandbox: Sandbox, box: Path, code: str, limits: Limits = FAST, **kw) -> SandboxResult:
    return sandbox.run([PY, "-c", textwrap.dedent(code)], workdir=box, limits=limits, **kw)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def assert_nothing_left(sandbox: Sandbox, box: Path) -> None:
    assert processes_of(sandbox.uid_of(box)) == []


# ------------------------------------------------------------------------------- basics


def test_a_run_is_ok_with_every_protection(sandbox, box):
    result = py(sandbox, box, "import os; print('hello', os.getuid(), os.getgid(), os.getcwd())")
    assert result.status == "ok" and result.ok
    assert result.exit_code == 0
    uid = sandbox.uid_of(box)
    assert uid in UIDS
    assert result.output == f"hello {uid} {uid} {box}\n"
    assert result.protections == list(PROTECTIONS)
    assert result.missing == [] and result.reasons == {}
    assert result.workdir == box
    assert result.seconds < 5
    assert box.stat().st_uid == uid and (box.stat().st_mode & 0o777) == 0o700


def test_a_failing_command_reports_its_exit_code_and_stderr(sandbox, box):
    result = py(sandbox, box, "import sys; print('oops', file=sys.stderr); sys.exit(3)")
    assert result.status == "failed"
    assert result.exit_code == 3
    assert "oops" in result.output


def test_a_missing_command_fails_with_a_message(sandbox, box):
    result = sandbox.run(["no-such-command-anywhere"], workdir=box, limits=FAST)
    assert result.status == "failed"
    assert result.exit_code == 127
    assert "cannot run 'no-such-command-anywhere'" in result.output


def test_env_is_the_whole_environment(sandbox, box):
    code = """
        import os
        print(sorted(os.environ))
        print(os.environ['FOO'], os.environ['HOME'], os.environ['TMPDIR'])
        for var in ('HOME', 'TMPDIR'):
            with open(os.path.join(os.environ[var], 'probe'), 'w') as fh:
                fh.write('ok')
    """
    result = py(sandbox, box, code, env={"FOO": "bar baz"})
    assert result.status == "ok", result.output
    names, values = result.output.splitlines()
    assert names == str(sorted(["FOO", "HOME", "LANG", "PATH", "TMPDIR"]))
    foo, home, tmp = values.rsplit(" ", 2)
    assert foo == "bar baz"
    assert Path(home).parent == box.parent and Path(tmp).parent == box.parent
    with pytest.raises(InvalidInputError):
        py(sandbox, box, "pass", env={"HOME": "/root"})


def test_the_servers_environment_does_not_leak(sandbox, box, monkeypatch):
    secret = "triops-test-secret-4f1c9a"
    monkeypatch.setenv("TRIOPS_TEST_SECRET", secret)
    code = f"""
        import os
        print('env:', dict(os.environ))
        for pid in ('1', str(os.getppid()), '{os.getpid()}'):
            try:
                with open(f'/proc/{{pid}}/environ', 'rb') as fh:
                    print(pid, fh.read())
            except OSError as exc:
                print(pid, 'denied', exc.errno)
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{{pid}}/environ', 'rb') as fh:
                    print(pid, fh.read())
            except OSError:
                pass
    """
    result = py(sandbox, box, code)
    assert result.status == "ok", result.output
    assert secret not in result.output
    assert result.output.count("denied") == 3
    shell = sandbox.run(["env"], workdir=box, limits=FAST)
    assert shell.status == "ok" and secret not in shell.output
    assert "TRIOPS_TEST_SECRET" not in shell.output


def test_seeding_copies_a_folder_the_run_can_change(sandbox, tmp_path):
    seed = tmp_path / "starter"
    (seed / "pkg").mkdir(parents=True)
    (seed / "a.txt").write_text("alpha\n")
    (seed / "pkg" / "b.txt").write_text("beta\n")
    work = sandbox.workdir(seed)
    try:
        code = """
            print(open('a.txt').read().strip(), open('pkg/b.txt').read().strip())
            open('pkg/b.txt', 'a').write('changed\\n')
        """
        result = py(sandbox, work, code)
        assert result.status == "ok", result.output
        assert result.output == "alpha beta\n"
        assert (work / "pkg" / "b.txt").read_text() == "beta\nchanged\n"
        assert (seed / "pkg" / "b.txt").read_text() == "beta\n"
        assert (work / "pkg").stat().st_uid == sandbox.uid_of(work)
        with pytest.raises(InvalidInputError):
            sandbox.run([PY, "-c", "pass"], workdir=work, seed=seed)
    finally:
        sandbox.cleanup(work)
    assert not work.exists()


def test_a_run_without_workdir_makes_a_seeded_one(sandbox, tmp_path):
    (tmp_path / "hello.py").write_text("print('seeded')\n")
    result = sandbox.run([PY, "hello.py"], seed=tmp_path, limits=FAST)
    try:
        assert result.status == "ok" and result.output == "seeded\n"
    finally:
        sandbox.cleanup(result.workdir)


def test_runs_share_a_workdir_in_sequence(sandbox, box):
    first = py(sandbox, box, "open('state.txt', 'w').write('step one')")
    second = py(sandbox, box, "print(open('state.txt').read())")
    assert first.status == second.status == "ok"
    assert second.output == "step one\n"


def test_hand_over_gives_server_written_files_and_follows_no_link(sandbox, box, tmp_path):
    outside = tmp_path / "server-file"
    outside.write_text("server")
    os.chmod(outside, 0o400)
    planted = py(sandbox, box, f"import os; os.symlink({str(outside)!r}, 'link')")
    assert planted.status == "ok"
    (box / "step.sh").write_text("echo step two\n")
    os.chmod(box / "step.sh", 0o400)
    sandbox.hand_over(box)
    result = sandbox.run(["sh", "step.sh"], workdir=box, limits=FAST)
    assert result.status == "ok" and result.output == "step two\n"
    assert outside.stat().st_uid == 0 and (outside.stat().st_mode & 0o777) == 0o400


def test_cwd_is_relative_to_the_workdir(sandbox, box):
    (box / "sub").mkdir()
    result = py(sandbox, box, "import os; print(os.getcwd())", cwd="sub")
    assert result.output == f"{box / 'sub'}\n"
    with pytest.raises(InvalidInputError):
        py(sandbox, box, "pass", cwd="../..")
    with pytest.raises(InvalidInputError):
        py(sandbox, box, "pass", cwd="/etc")


def test_output_streams_line_by_line_as_it_arrives(sandbox, box):
    seen: list[tuple[float, str]] = []
    code = """
        import sys, time
        print('one', flush=True)
        time.sleep(0.4)
        print('two', file=sys.stderr, flush=True)
        time.sleep(0.4)
        print('three', flush=True)
        sys.stdout.write('tail without newline')
    """
    result = py(sandbox, box, code, on_output=lambda line: seen.append((time.monotonic(), line)))
    done = time.monotonic()
    assert result.status == "ok"
    assert [line for _, line in seen] == ["one", "two", "three", "tail without newline"]
    assert done - seen[0][0] > 0.6, "the first line arrived only at the end"
    assert seen[0][0] < seen[1][0] < seen[2][0]
    assert result.output == "one\ntwo\nthree\ntail without newline"


def test_a_workdir_runs_one_command_at_a_time(sandbox, box):
    thread = threading.Thread(target=py, args=(sandbox, box, "import time; time.sleep(1)"))
    thread.start()
    time.sleep(0.3)
    try:
        with pytest.raises(SandboxError):
            py(sandbox, box, "pass")
    finally:
        thread.join()


def test_each_workdir_has_its_own_uid_and_the_pool_runs_out(tmp_path):
    root = Path(tempfile.gettempdir()) / f"triops-sandbox-pool-{os.getpid()}"
    base = 62000 + (os.getpid() % 1000) * 2  # a pool of two of our own, even beside other runs
    with Sandbox(root=root, uids=range(base, base + 2)) as small:
        first, second = small.workdir(), small.workdir()
        assert small.uid_of(first) != small.uid_of(second)
        with pytest.raises(SandboxError):
            small.workdir()
        freed = small.uid_of(first)
        small.cleanup(first)
        assert not first.exists()
        third = small.workdir()
        assert small.uid_of(third) == freed
    shutil.rmtree(root, ignore_errors=True)


def test_an_error_in_the_output_callback_stops_the_run(sandbox, box):
    def explode(line: str) -> None:
        raise RuntimeError("the page went away")

    code = "import time\nprint('first', flush=True)\ntime.sleep(30)"
    started = time.monotonic()
    with pytest.raises(RuntimeError):
        py(sandbox, box, code, on_output=explode)
    assert time.monotonic() - started < 5
    assert_nothing_left(sandbox, box)


def test_without_root_the_run_works_and_says_what_is_missing():
    # The sandbox modules copied where an unprivileged user can read them (CI's clone may not be).
    pkg = Path(tempfile.mkdtemp(prefix="triops-nonroot-"))
    try:
        src = REPO / "src" / "triops"
        for rel in (
            "__init__.py",
            "errors.py",
            "terminal.py",
            "labs/__init__.py",
            "labs/process.py",
            "labs/sandbox.py",
            "labs/launcher.py",
        ):
            (pkg / "triops" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src / rel, pkg / "triops" / rel)
        os.chmod(pkg, 0o755)
        for folder, dirs, _files in os.walk(pkg):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        (pkg / "root").mkdir()
        os.chown(pkg / "root", 65534, 65534)
        marker = f"59.{os.getpid()}"  # a sleep this run alone starts, even beside other runs
        script = f"""
            import sys
            sys.path.insert(0, {str(pkg)!r})
            from triops.labs.sandbox import Limits, Sandbox
            sb = Sandbox(root={str(pkg / "root")!r})
            work = sb.workdir()
            r = sb.run(["sh", "-c", "id -u; sleep {marker} & echo x > /tmp/nope"], workdir=work,
                       limits=Limits(wall_seconds=5))
            print(r.status, r.protections, r.missing, sorted(r.reasons))
            print(r.output)
            sb.cleanup(work)
        """
        done = subprocess.run(
            [PY, "-c", textwrap.dedent(script)],
            user=65534,
            group=65534,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin"},
        )
        assert done.returncode == 0, done.stderr
        first, *rest = done.stdout.splitlines()
        protections = ["rlimits", "landlock", "seccomp", "network-off", "env-clean", "disk-quota"]
        missing = ["uid", "proc-private"]
        assert first == f"failed {protections} {missing} {sorted(missing)}"
        assert rest[0] == "65534"
        assert "Permission denied" in done.stdout
        assert not [pid for pid in processes_of(65534) if marker in cmdline(pid)]
    finally:
        shutil.rmtree(pkg, ignore_errors=True)


def test_a_root_the_sandbox_users_cannot_reach_is_refused(tmp_path):
    # pytest's tmp_path lives below /tmp/pytest-of-root, which is 0700.
    with pytest.raises(SandboxError, match="not traversable"):
        Sandbox(root=tmp_path / "sandbox").workdir()


@pytest.mark.parametrize(
    ("patch", "gone"),
    [
        (('"libseccomp.so.2"', '"libseccomp-absent.so.0"'), ["seccomp", "network-off"]),
        (
            ("SYS_LANDLOCK_CREATE_RULESET = 444", "SYS_LANDLOCK_CREATE_RULESET = 99999"),
            ["landlock"],
        ),
    ],
    ids=["no-libseccomp", "no-landlock"],
)
def test_a_missing_mechanism_is_reported_and_the_run_still_works(monkeypatch, patch, gone):
    import triops.labs.sandbox as module

    root = Path(tempfile.mkdtemp(prefix="triops-degraded-"))
    root.chmod(0o711)
    try:
        patched = root / "patched-launcher.py"
        code = module.LAUNCHER.read_text()
        assert patch[0] in code
        patched.write_text(code.replace(*patch))
        monkeypatch.setattr(module, "LAUNCHER", patched)
        with Sandbox(root=root / "sandbox", uids=range(61940, 61942)) as sb:
            result = sb.run([PY, "-c", "print('still runs')"], limits=FAST)
            assert result.status == "ok" and result.output == "still runs\n"
            assert result.missing == gone
            assert set(result.reasons) == set(gone) and all(result.reasons.values())
            assert result.protections == [p for p in PROTECTIONS if p not in gone]
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------ attacks


def test_a_fork_bomb_is_capped_and_leaves_nothing(sandbox, box):
    code = """
        import os
        said = False
        while True:
            try:
                os.fork()
            except OSError:
                if not said:
                    print('fork refused', flush=True)
                    said = True
    """
    limits = Limits(wall_seconds=2, cpu_seconds=10, processes=16, memory_mb=256, files=500)
    result = py(sandbox, box, code, limits=limits)
    assert result.status == "timeout"
    assert "fork refused" in result.output  # RLIMIT_NPROC stopped it, not the machine
    assert result.seconds < 6
    assert_nothing_left(sandbox, box)


@pytest.mark.parametrize(
    "code",
    [
        "b = bytearray(512 * 2**20)",
        "x = []\nwhile True: x.append(bytearray(10 * 2**20))",
    ],
    ids=["one-allocation", "gradual"],
)
def test_a_memory_bomb_hits_the_memory_limit(sandbox, box, code):
    result = py(sandbox, box, code)
    assert result.status == "memory-limit", result.output
    assert result.exit_code == 1


def test_an_endless_loop_times_out(sandbox, box):
    result = py(sandbox, box, "while True: pass", limits=Limits(wall_seconds=1, cpu_seconds=30))
    assert result.status == "timeout"
    assert result.exit_code is None
    assert 1 <= result.seconds < 4
    assert_nothing_left(sandbox, box)


def test_a_sleeper_times_out_too(sandbox, box):
    result = py(sandbox, box, "import time; time.sleep(100)", limits=Limits(wall_seconds=1))
    assert result.status == "timeout"
    assert result.seconds < 4


def test_a_cpu_burner_hits_the_cpu_limit(sandbox, box):
    result = py(sandbox, box, "while True: pass", limits=Limits(wall_seconds=10, cpu_seconds=1))
    assert result.status == "cpu-limit"
    assert result.seconds < 5


def test_a_cpu_burner_ignoring_sigxcpu_is_killed_at_the_hard_limit(sandbox, box):
    code = """
        import signal
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        while True:
            pass
    """
    # Killed by the CPU limit (SIGKILL at the hard limit), not by the wall clock: the status
    # says which. The wall limit is generous so a loaded machine cannot blur the two.
    result = py(sandbox, box, code, limits=Limits(wall_seconds=60, cpu_seconds=1))
    assert result.status == "cpu-limit"
    assert result.exit_code == -9


@pytest.mark.parametrize(
    "code",
    [
        "while True: print('x' * 99)",
        "import sys\nsys.stdout.write('y' * 10**6)\nimport time; time.sleep(30)",
    ],
    ids=["lines", "one-huge-line"],
)
def test_an_output_flood_is_truncated_and_stopped(sandbox, box, code):
    limits = Limits(wall_seconds=10, output_bytes=10_000)
    result = py(sandbox, box, code, limits=limits)
    assert result.status == "output-truncated"
    assert 0 < len(result.output.encode()) <= 10_000
    assert result.seconds < 5
    assert_nothing_left(sandbox, box)


def test_one_big_file_hits_the_file_size_limit(sandbox, box):
    result = py(sandbox, box, "open('big', 'wb').write(b'x' * 8 * 2**20)")
    assert result.status == "disk-limit", result.output
    assert (box / "big").stat().st_size <= FAST.file_size_mb * 2**20


def test_many_files_under_the_file_size_limit_hit_the_disk_quota(sandbox, box):
    code = """
        import os, time
        for i in range(10):
            with open(f'part{i}', 'wb') as fh:
                fh.write(os.urandom(3 * 2**20))
        time.sleep(30)
    """
    result = py(sandbox, box, code)
    assert result.status == "disk-limit", result.output
    assert result.seconds < 5
    assert_nothing_left(sandbox, box)


def test_a_flood_of_empty_files_hits_the_entry_quota(sandbox, box):
    code = """
        import os, time
        os.makedirs(os.path.join(os.environ['TMPDIR'], 'x'))
        for i in range(5000):
            open(os.path.join(os.environ['TMPDIR'], 'x', str(i)), 'w').close()
        time.sleep(30)
    """
    result = py(sandbox, box, code)
    assert result.status == "disk-limit", result.output
    assert result.seconds < 5


def test_a_quota_overrun_at_exit_is_still_reported(sandbox, box):
    code = """
        import os
        for i in range(6):
            with open(f'part{i}', 'wb') as fh:
                fh.write(os.urandom(3 * 2**20))
    """
    result = py(sandbox, box, code)
    assert result.status == "disk-limit"


def test_writes_outside_the_workdir_are_denied(sandbox, box):
    name = f"triops-escape-{os.getpid()}"
    other = sandbox.workdir()
    targets = [
        f"/tmp/{name}",
        f"/var/tmp/{name}",
        f"/dev/shm/{name}",
        str(REPO / name),
        str(sandbox.root / name),
        str(other / name),
    ]
    code = f"""
        import os
        for path in {targets!r}:
            try:
                with open(path, 'w') as fh:
                    fh.write('escaped')
                print('WROTE', path)
            except OSError as exc:
                print('denied', path, exc.errno)
        for path in ('/tmp', '/dev/shm'):
            try:
                os.mkdir(os.path.join(path, '{name}-dir'))
                print('WROTE', path)
            except OSError as exc:
                print('denied', path, exc.errno)
    """
    try:
        result = py(sandbox, box, code)
        assert result.status == "ok", result.output
        assert "WROTE" not in result.output
        assert result.output.count("denied") == len(targets) + 2
        for path in targets:
            assert not Path(path).exists()
        assert not Path(f"/tmp/{name}-dir").exists()
        assert not Path(f"/dev/shm/{name}-dir").exists()
    finally:
        sandbox.cleanup(other)


def test_reads_outside_what_a_run_needs_are_denied(sandbox, box):
    other = sandbox.workdir()
    (other / "answers.txt").write_text("another learner's work")
    readable_by_unix_rights = REPO / "pyproject.toml"  # 0644: only Landlock keeps it out
    code = f"""
        for path in ({str(readable_by_unix_rights)!r}, {str(other / "answers.txt")!r}, '/tmp'):
            try:
                open(path).read() if not path.endswith('tmp') else __import__('os').listdir(path)
                print('READ', path)
            except OSError as exc:
                print('denied', path)
        print(open('/etc/os-release').read()[:4])
    """
    try:
        result = py(sandbox, box, code)
        assert result.status == "ok", result.output
        assert "READ" not in result.output
        assert result.output.count("denied") == 3
    finally:
        sandbox.cleanup(other)


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def accepted(server: socket.socket) -> bool:
    time.sleep(0.1)
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def test_the_network_is_off_loopback_included(sandbox, box, listener):
    port = listener.getsockname()[1]
    abstract = f"\0triops-sandbox-test-{os.getpid()}"
    unix_server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix_server.bind(abstract)
    unix_server.listen(1)
    code = f"""
        import socket
        attempts = {{
            'tcp-loopback': lambda: socket.create_connection(('127.0.0.1', {port}), timeout=2),
            'inet': lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM),
            'udp': lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
            'inet6': lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM),
            'packet': lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW),
            'netlink': lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW),
            'abstract-unix': lambda: socket.socket(socket.AF_UNIX).connect({abstract!r}),
        }}
        for name, attempt in attempts.items():
            try:
                attempt()
                print('CONNECTED', name)
            except OSError as exc:
                print('denied', name, exc.errno)
        a, b = socket.socketpair()  # AF_UNIX between its own processes still works
        a.send(b'ping'); print(b.recv(4).decode())
    """
    try:
        result = py(sandbox, box, code)
    finally:
        unix_server.close()
    assert result.status == "ok", result.output
    assert "CONNECTED" not in result.output
    assert result.output.count("denied") == 7
    assert "ping" in result.output
    assert not accepted(listener)
    assert "network-off" in result.protections


def test_allow_network_lets_a_run_connect(sandbox, box, listener):
    port = listener.getsockname()[1]
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2); print('in')"
    result = py(sandbox, box, code, allow_network=True)
    assert result.status == "ok", result.output
    assert accepted(listener)
    assert "network-off" not in result.protections and "network-off" not in result.missing


def test_namespaces_and_ptrace_are_denied(sandbox, box):
    code = """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        print('unshare', libc.unshare(0x10000000), ctypes.get_errno())   # CLONE_NEWUSER
        print('ptrace', libc.ptrace(0, 0, None, None), ctypes.get_errno())  # PTRACE_TRACEME
    """
    result = py(sandbox, box, code)
    assert result.output.splitlines() == ["unshare -1 1", "ptrace -1 1"]
    shell = sandbox.run(["unshare", "-U", "-n", "true"], workdir=box, limits=FAST)
    assert shell.status == "failed"


def test_a_background_child_does_not_survive_the_run(sandbox, box):
    result = sandbox.run(["sh", "-c", "sleep 60 & echo started"], workdir=box, limits=FAST)
    assert result.status == "ok" and result.output == "started\n"
    assert result.seconds < 5
    assert_nothing_left(sandbox, box)


@pytest.mark.parametrize("keeps_pipe", [True, False], ids=["holding-the-pipe", "detached"])
def test_a_setsid_daemon_does_not_survive_the_run(sandbox, box, keeps_pipe):
    code = f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                if not {keeps_pipe}:
                    fd = os.open('/dev/null', os.O_RDWR)
                    for n in (0, 1, 2):
                        os.dup2(fd, n)
                time.sleep(60)
            os._exit(0)
        print('daemon started')
    """
    result = py(sandbox, box, code)
    assert result.status == "ok" and result.output == "daemon started\n"
    assert result.seconds < 5
    assert_nothing_left(sandbox, box)


# ----------------------------------------------------------------- the labs' tool venv


@pytest.mark.usefixtures("sandbox_required")
def test_the_labs_tools_run_in_the_sandbox(sandbox, tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    work = sandbox.workdir(tmp_path)
    try:
        env = {"PATH": f"{LABS_VENV / 'bin'}:/usr/bin:/bin"}
        tests = sandbox.run(
            ["pytest", "-q"], workdir=work, env=env, extra_read_paths=[LABS_VENV], limits=FAST
        )
        assert tests.status == "ok", tests.output
        assert "1 passed" in tests.output
        lint = sandbox.run(
            ["ruff", "check", "--no-cache", "."],
            workdir=work,
            env=env,
            extra_read_paths=[LABS_VENV],
            limits=FAST,
        )
        assert lint.status == "ok", lint.output
    finally:
        sandbox.cleanup(work)
