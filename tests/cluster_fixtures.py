"""The multi-replica deployment for the tests: `scripts/run-cluster.py` itself (PostgreSQL, N
replicas, nginx), run in a folder of its own, plus the parts it is made of for tests that need
one of them alone (a PostgreSQL server they can restart).

Without nginx the cluster tests skip with the reason, and fail instead under
TRIOPS_REQUIRE_NGINX=1 (as .ci/run sets); without PostgreSQL they follow TRIOPS_REQUIRE_POSTGRES.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "run-cluster.py"


def load_cluster_script():
    """scripts/run-cluster.py as a module (its name has a hyphen, as the Makefile calls it)."""
    spec = importlib.util.spec_from_file_location("run_cluster", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("run_cluster", module)
    spec.loader.exec_module(module)
    return module


def nginx_missing_reason() -> str | None:
    path = load_cluster_script().NGINX
    if not Path(path).exists():
        return f"{path} is not installed (Debian package nginx; make nginx installs it)"
    return None


def require_nginx() -> None:
    reason = nginx_missing_reason()
    if reason:
        if os.environ.get("TRIOPS_REQUIRE_NGINX") == "1":
            pytest.fail(f"nginx required (TRIOPS_REQUIRE_NGINX=1) but {reason}")
        pytest.skip(reason)


def shared_folder(prefix: str) -> Path:
    """A folder in /tmp that the `postgres` user can reach (pytest's tmp_path is root's only)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


def free_ports(count: int) -> int:
    """The first of `count` consecutive loopback ports that are free now."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            first = sock.getsockname()[1]
        if first + count >= 65535:
            continue
        try:
            held = []
            for port in range(first, first + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
        return first
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Cluster:
    process: subprocess.Popen
    home: Path
    output: Path

    @property
    def state(self) -> dict:
        return json.loads((self.home / "cluster.json").read_text())

    @property
    def url(self) -> str:
        return self.state["url"]

    def replica(self, name: str) -> dict:
        return next(r for r in self.state["replicas"] if r["name"] == name)

    def kill(self, name: str) -> None:
        """kill -9 the replica `name`: no shutdown, no goodbye to its browsers."""
        os.kill(self.replica(name)["pid"], signal.SIGKILL)


def start_cluster(
    replicas: int = 2,
    extra: list[str] | None = None,
    timeout: float = 240,
    env: dict[str, str] | None = None,
):
    """Run scripts/run-cluster.py until its `ready:` line, with `env` added to this process's
    environment; the Cluster, or pytest.fail with its output. The caller stops it with
    stop_cluster."""
    home = shared_folder("triops-cluster-")
    port, base = free_ports(1), free_ports(replicas)
    output = home / "run-cluster.out"
    with open(output, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--replicas", str(replicas), "--port", str(port)]
            + ["--base-port", str(base), "--home", str(home), *(extra or [])],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Started with SIGINT ignored, as a background job of a non-interactive shell (and
            # so a CI run) starts it: the Ctrl-C of stop_cluster must still stop it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
            # A group of its own: a cluster that does not stop is killed with its replicas
            # and nginx (PostgreSQL's postmaster leaves the group: pg_ctl starts it in a
            # session of its own, and the script's stop ends it).
            start_new_session=True,
            env={
                **{k: v for k, v in os.environ.items() if k != "TRIOPS_DATABASE_URL"},
                **(env or {}),
            },
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "ready: " in output.read_text():
            return Cluster(proc, home, output)
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    text = output.read_text()
    stop_cluster(Cluster(proc, home, output))
    pytest.fail(f"run-cluster did not start:\n{text}")


def stop_cluster(cluster: Cluster) -> str:
    """Stop the cluster as Ctrl-C would; its output."""
    if cluster.process.poll() is None:
        cluster.process.send_signal(signal.SIGINT)
        try:
            cluster.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.process.pid, signal.SIGKILL)
            cluster.process.wait()
    text = cluster.output.read_text()
    shutil.rmtree(cluster.home, ignore_errors=True)
    return text


@pytest.fixture(scope="module")
def cluster():
    """Two replicas behind nginx on a fresh PostgreSQL, for the module's tests."""
    from tests.pgserver import require_postgres

    require_postgres()
    require_nginx()
    running = start_cluster(2)
    yield running
    stop_cluster(running)


@pytest.fixture
def restartable_postgres():
    """A PostgreSQL server of the cluster script's kind that a test may stop and start again
    (a database restart); its database URL is `.start()`'s answer."""
    from tests.pgserver import require_postgres

    require_postgres()
    folder = shared_folder("triops-pg-restart-")
    server = load_cluster_script().Postgres(folder / "postgres")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)
