"""Start a real Streamlit server and a real chromium, for browser tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    # The pages of one site in one browser context share a renderer, whose compiled scripts a
    # new page then reuses: a new tab of the app cost about 1.4 CPU s instead of 2.1.
    "--process-per-site",
]

# Chromium features the tests' browser turns off, beside those Playwright turns off itself.
# Chromium's headless mode is the whole browser since Chromium 132, and Chromium 156 preloads the
# address bar's drop-down (chrome://omnibox-popup.top-chrome, two WebUI pages) in a renderer of
# its own for every window; Playwright opens a window for every page. Measured on 2026-12-08
# (this 2-core machine, Chromium 156, eight Home page loads each in a new context, two runs of
# each in turn): 18.9 and 18.8 CPU s in chromium and the driver without them, 26.6 and 28.9 with.
DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
_DISABLE = "--disable-features="


def _descendants(pid: int) -> list[int]:
    """The processes below `pid`, read from /proc (children before grandchildren)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(0), [])
        found += children
        todo += children
    return found


def browser_command_lines() -> dict[int, list[str]]:
    """Process id -> command line of each chromium browser process that a Playwright driver of
    this process started (their renderers and helpers, which carry --type=, and any other
    process named chrom*, such as a crash handler, are left out)."""
    found = {}
    for pid in _descendants(os.getpid()):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        argv = [a for a in raw.decode(errors="replace").split("\0") if a]
        helper = any(a.startswith("--type=") for a in argv)
        driven = "--remote-debugging-pipe" in argv  # started by Playwright
        if argv and Path(argv[0]).name in ("chromium", "chrome") and driven and not helper:
            found[pid] = argv
    return found


def disabled_features(argv: list[str]) -> list[str]:
    """The feature names of each --disable-features switch on a command line, in order."""
    switches = [a[len(_DISABLE) :] for a in argv if a.startswith(_DISABLE)]
    return [name for value in switches for name in value.split(",") if name]


def launch_chromium(playwright, *, headless: bool = True):
    """Debian's chromium with CHROMIUM_ARGS and DISABLED_FEATURES. Chromium keeps only the last
    --disable-features switch on its command line, so Playwright's own list (which changes with
    its version) is read from a first launch's command line and the browser relaunched with one
    switch that holds both lists."""
    before = browser_command_lines()
    first = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=headless
    )
    try:
        argv = next((a for pid, a in browser_command_lines().items() if pid not in before), [])
    finally:
        first.close()
    theirs = [a for a in argv if a.startswith(_DISABLE)]
    merged = ",".join(dict.fromkeys([*disabled_features(argv), *DISABLED_FEATURES]))
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, _DISABLE + merged],
        ignore_default_args=theirs,
        headless=headless,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    started: float
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wait_healthy(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"streamlit on port {port} did not become healthy in {timeout:.0f} s")


@contextmanager
def streamlit_server(
    script: Path, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[Server]:
    """Run `streamlit run script` headless on a free loopback port until the block ends."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    started = time.monotonic()
    # The server's output goes to a file: an unread pipe can fill up and stall the server.
    log = tempfile.NamedTemporaryFile(prefix="triops-streamlit-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        cwd=script.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(port)
        yield Server(proc, port, started, Path(log.name))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        Path(log.name).unlink(missing_ok=True)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def chromium_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (Debian package 'chromium')"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None
