"""Try the multi-replica deployment on one machine: PostgreSQL, N app replicas and nginx.

    make run-cluster REPLICAS=3          # or: .venv/bin/python scripts/run-cluster.py --replicas 3

Everything runs in the foreground until Ctrl-C (or SIGTERM), then stops in reverse order:

- PostgreSQL 15 from Debian's packages (/usr/lib/postgresql/15/bin), its data in
  <home>/postgres/data (kept between runs, so learner state survives a restart of the cluster),
  listening on a Unix socket only. As root it runs as the `postgres` user, as PostgreSQL
  requires. --database-url uses a server of yours instead.
- N replicas: `streamlit run deploy/replica.py` on 127.0.0.1:<base-port + i>, each with its own
  TRIOPS_HOME (<home>/replica-<i>) for its derived data (market database, search index, model
  cache), which it builds for itself: nothing derived is shared for writing. Their JSON logs go
  to <home>/replica-<i>.log.
- nginx on --port with deploy/nginx/triops.conf, its upstream list replaced by these replicas.
- One TRIOPS_SECRET for every replica, so a password sign-in's signed session cookie holds on
  whichever replica answers (a candidate whose replica dies is not asked to sign in again):
  yours if the environment sets it, else a random one made once and kept in
  <home>/session-secret (mode 0600).
- --workers W `triops worker` processes (docs/WORKERS.md; default 0, `make run-cluster` starts
  one): with PostgreSQL, lab runs, lab checks and search index builds are queued for workers,
  and wait until one runs. Lab runs need root and the labs' tool environment, as with `make run`.

<home>/cluster.json says what runs where (process ids, ports, log files) once everything is up;
the line `ready: http://127.0.0.1:<port>/` is printed then. A fault at start-up (PostgreSQL, a
replica or nginx that cannot start) is one line naming the part and the cause, and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("TRIOPS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
NGINX = os.environ.get("TRIOPS_NGINX", shutil.which("nginx") or "/usr/sbin/nginx")
SITE = REPO / "deploy" / "nginx" / "triops.conf"
DATABASE = "triops"


class StartError(Exception):
    """One part of the cluster could not start; the message names it and the cause."""


def _as_pg_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise StartError(f"{what}: {exc.filename} not found") from exc
    except subprocess.CalledProcessError as exc:
        detail = " ".join((exc.stderr or exc.stdout or "").split())
        raise StartError(f"{what}: {detail or f'exit status {exc.returncode}'}") from exc


class Postgres:
    """A PostgreSQL server for the cluster in `folder`, reached through a short socket path."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.sockets = Path(tempfile.mkdtemp(prefix="triops-cluster-pg-", dir="/tmp"))
        self.log = folder / "server.log"

    def url(self, dbname: str) -> str:
        return f"postgresql://{PG_USER}@/{dbname}?host={self.sockets}"

    def start(self) -> str:
        if not (PG_BIN / "pg_ctl").exists():
            raise StartError(
                f"PostgreSQL: {PG_BIN}/pg_ctl not found (Debian package postgresql-15)"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(PG_USER)
            for path in (self.folder, self.sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            _run(
                _as_pg_user(
                    [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", PG_USER]
                    + ["--auth=trust", "--encoding=UTF8"]
                ),
                "PostgreSQL initdb",
            )
        options = f"-k {self.sockets} -c listen_addresses='' -c max_connections=200"
        _run(
            _as_pg_user(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log)]
                + ["-w", "start"]
            ),
            f"PostgreSQL (log {self.log})",
        )
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        return self.url(DATABASE)

    def stop(self, *, keep_socket_dir: bool = False) -> None:
        """Stop the server (fast: sessions are ended, committed work is kept); `keep_socket_dir`
        for a start() again at the same URL, as a database restart does."""
        subprocess.run(
            _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]),
            capture_output=True,
        )
        if not keep_socket_dir:
            shutil.rmtree(self.sockets, ignore_errors=True)


def shared_secret(home: Path) -> str:
    """TRIOPS_SECRET from the environment, else the cluster's own, made once in `home`."""
    given = os.environ.get("TRIOPS_SECRET", "").strip()
    if given:
        return given
    path = home / "session-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def replica_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO / "deploy" / "replica.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]


def wait_healthy(port: int, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    """Until GET /healthz on `port` answers 200; StartError if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
            cause = next((ln[7:] for ln in reversed(lines) if ln.startswith("error: ")), None)
            raise StartError(
                f"replica on port {port}: {cause or f'exited with status {proc.returncode}'}"
                f" (log {log})"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                if resp.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = exc.read().decode(errors="replace")
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise StartError(f"replica on port {port}: not healthy after {timeout:.0f} s: {last}")


def nginx_config(site: str, replicas: list[int], port: int, prefix: Path) -> str:
    """A whole nginx.conf running `site` (deploy/nginx/triops.conf) in the foreground from
    `prefix`, listening on 127.0.0.1:`port`, its upstream list replaced by `replicas`."""
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in replicas)
    site, found = re.subn(
        r"(# replicas: begin\n).*?(\s*# replicas: end)", rf"\g<1>{servers}\g<2>", site, flags=re.S
    )
    if not found:
        raise StartError(f"nginx: {SITE} has no '# replicas: begin' ... '# replicas: end' block")
    site = re.sub(r"^[ \t]*listen\s+\[::\][^;]*;\n", "", site, flags=re.M)
    site = re.sub(r"^([ \t]*)listen\s+[^;]+;", rf"\g<1>listen 127.0.0.1:{port};", site, flags=re.M)
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
        "daemon off;\nevents { worker_connections 4096; }\n"
        "http {\n"
        f"  access_log {prefix}/access.log;\n"
        f"  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;\n"
        f"  fastcgi_temp_path {prefix}/fastcgi; uwsgi_temp_path {prefix}/uwsgi;\n"
        f"  scgi_temp_path {prefix}/scgi;\n"
        f"{site}\n}}\n"
    )


def start_nginx(conf: Path, prefix: Path, port: int) -> subprocess.Popen:
    if not Path(NGINX).exists():
        raise StartError(f"nginx: {NGINX} not found (apt-get install nginx)")
    _run([NGINX, "-t", "-c", str(conf), "-p", str(prefix)], "nginx configuration")
    out = open(prefix / "nginx.out", "w")  # noqa: SIM115 - kept open for the process's life
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(prefix)], stdout=out, stderr=out)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"nginx: {(prefix / 'nginx.out').read_text().strip()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.2)
    raise StartError(f"nginx: nothing listening on port {port} after 15 s")


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="app processes (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    parser.add_argument(
        "--base-port", type=int, default=8511, help="first replica's port (default 8511)"
    )
    parser.add_argument(
        "--home", type=Path, default=REPO / ".triops" / "cluster", help="the cluster's folder"
    )
    parser.add_argument(
        "--database-url", default=None, help="use this PostgreSQL instead of starting one"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="triops worker processes to start (default 0)"
    )
    args = parser.parse_args(argv)
    if args.replicas < 1 or args.workers < 0:
        print("error: --replicas must be 1 or more, --workers 0 or more", file=sys.stderr)
        return 2
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    postgres = None if args.database_url else Postgres(home / "postgres")
    replicas: list[subprocess.Popen] = []
    workers: list[subprocess.Popen] = []
    nginx = None
    stopping = False

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C stops the cluster even when this process inherited SIGINT ignored, as everything
    # started in the background by a non-interactive shell does (`... &`, nohup, a CI job):
    # Python then leaves SIGINT ignored and the cluster would run on until SIGTERM or SIGKILL.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        url = args.database_url or postgres.start()
        ports = [args.base_port + i for i in range(args.replicas)]
        secret = shared_secret(home)
        logs = []
        for i, port in enumerate(ports, start=1):
            replica_home = home / f"replica-{i}"
            replica_home.mkdir(exist_ok=True)
            log = home / f"replica-{i}.log"
            logs.append(log)
            env = {
                **os.environ,
                "TRIOPS_DATABASE_URL": url,
                "TRIOPS_HOME": str(replica_home),
                "TRIOPS_REPLICA": f"replica-{i}",
                "TRIOPS_LOG_FORMAT": "json",
                "TRIOPS_SECRET": secret,
            }
            with open(log, "a") as out:
                replicas.append(
                    subprocess.Popen(
                        replica_command(port), env=env, cwd=REPO, stdout=out, stderr=out
                    )
                )
        for proc, port, log in zip(replicas, ports, logs, strict=True):
            wait_healthy(port, proc, log)
        worker_logs = []
        for i in range(1, args.workers + 1):
            worker_home = home / f"worker-{i}"
            worker_home.mkdir(exist_ok=True)
            log = home / f"worker-{i}.log"
            worker_logs.append(log)
            env = {**os.environ, "TRIOPS_DATABASE_URL": url, "TRIOPS_HOME": str(worker_home)}
            with open(log, "a") as out:
                workers.append(
                    subprocess.Popen(
                        [str(Path(sys.executable).with_name("triops")), "worker"],
                        env=env,
                        cwd=REPO,
                        stdout=out,
                        stderr=out,
                    )
                )
        time.sleep(2 if workers else 0)
        for i, (proc, log) in enumerate(zip(workers, worker_logs, strict=True), start=1):
            if proc.poll() is not None:
                lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
                raise StartError(
                    f"worker-{i}: {lines[-1] if lines else proc.returncode} (log {log})"
                )
        prefix = home / "nginx"
        prefix.mkdir(exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(SITE.read_text(), ports, args.port, prefix))
        nginx = start_nginx(conf, prefix, args.port)
        state = {
            "url": f"http://127.0.0.1:{args.port}/",
            "nginx": {"pid": nginx.pid, "port": args.port, "conf": str(conf)},
            "replicas": [
                {"name": f"replica-{i}", "pid": p.pid, "port": port, "log": str(log)}
                for i, (p, port, log) in enumerate(zip(replicas, ports, logs, strict=True), 1)
            ],
            "workers": [
                {"name": f"worker-{i}", "pid": p.pid, "log": str(log)}
                for i, (p, log) in enumerate(zip(workers, worker_logs, strict=True), 1)
            ],
            "postgres": str(postgres.data) if postgres else "external",
        }
        (home / "cluster.json").write_text(json.dumps(state, indent=2))
        print(
            f"ready: {state['url']} ({args.replicas} replicas, {args.workers} workers, "
            f"state in {home})",
            flush=True,
        )
        while True:
            if nginx.poll() is not None:
                raise StartError(f"nginx stopped: {(prefix / 'nginx.out').read_text().strip()}")
            time.sleep(1)
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        stopping = True
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits for the stop
        if nginx is not None:
            stop(nginx)
        for proc in replicas + workers:
            stop(proc)
        if postgres is not None:
            postgres.stop()
        (home / "cluster.json").unlink(missing_ok=True)
        if stopping:
            print("stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
