"""Server CPU while N browser-like Streamlit sessions sit idle on a page.

Each session is a websocket client on loopback that speaks Streamlit's own protocol the way
the bundled frontend (streamlit 1.67, ``static/js/index.*.js``) does:

* Connect to ``<base>/_stcore/stream`` with subprotocols ``["streamlit",
  "PLACEHOLDER_AUTH_TOKEN"]`` (the frontend's placeholder when it has no XSRF cookie or host
  token) and an ``Origin`` header, like the browser.
* Send the initial ``BackMsg.rerun_script`` (a ``ClientState``): ``page_script_hash=""`` and
  ``page_name`` taken from the URL path (``/exam`` -> ``"exam"``), ``query_string`` without
  the ``?``, an empty ``widget_states``, ``cached_message_hashes`` and ``context_info``.
* Decode every ``ForwardMsg``. ``new_session`` of a full run gives the page script hash that
  later reruns send instead of ``page_name``, and clears all auto-rerun timers;
  ``page_info_changed`` updates the query string.
* Auto-reruns: for ``@st.fragment(run_every=...)`` the server sends a
  ``ForwardMsg.auto_rerun`` (``AutoRerun{interval, fragment_id}``) each time the fragment is
  declared. The browser, not the server, keeps the clock: it starts a ``setInterval`` per
  fragment id (kept if the interval is unchanged, replaced otherwise; removed by
  ``stop_auto_rerun`` or a full-run ``new_session``) and on every tick sends
  ``BackMsg.rerun_script`` with ``fragment_id`` and ``is_auto_rerun=True`` plus the same page
  hash, query string, empty widget states, cache hashes and context info. We do the same.
* ForwardMsg cache: there is no ack. Messages with ``metadata.cacheable`` are kept by hash;
  the hashes go back in every ``rerun_script`` as ``cached_message_hashes``, and the server
  then sends ``ref_hash`` stubs that are resolved locally. Entries age out after
  ``config.max_cached_message_age`` finished runs, as in the frontend's ForwardMsgCache.

What the browser does and these clients do not: fetch the HTML/JS, ``/_stcore/health`` and
``/_stcore/host-config`` pings, rendering, and reconnecting (a session the server closes is
counted as lost).

``python -m bench.ws_sessions`` runs a self-check against ``bench/apps/fragment_timer.py``.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from triops.testing import streamlit_server

STREAM_PATH = "_stcore/stream"
SUBPROTOCOLS = ["streamlit", "PLACEHOLDER_AUTH_TOKEN"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
CONNECT_TIMEOUT = 30.0  # seconds for one websocket handshake
SETTLE_TIMEOUT = 120.0  # seconds for all sessions to finish their first page run
CLOSE_TIMEOUT = 5.0  # seconds for one closing handshake
MAX_ERROR_KINDS = 20  # distinct error messages kept in the result

APP = Path(__file__).parent / "apps" / "fragment_timer.py"


# --------------------------------------------------------------------------- server CPU


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat from field 3 (state) on; comm may hold spaces and ')'."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _descendants(pid: int) -> list[int]:
    """Live descendants of pid (children, grandchildren, ...), from /proc."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue  # the process went away while we looked
        children[ppid].append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by pid and its live descendants.

    Each process counts utime+stime plus cutime+cstime, so children that exited and were
    reaped stay counted in their parent.
    """
    ticks = 0
    for number, proc in enumerate([pid, *_descendants(pid)]):
        try:
            fields = _stat_fields(proc)
        except OSError:
            if number == 0:
                raise  # the server itself is gone
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / CLK_TCK


# --------------------------------------------------------------------------- the target


@dataclass(frozen=True)
class _Target:
    """Where the sessions connect and which page they ask for."""

    ws_url: str
    origin: str
    page_url: str
    page_name: str
    query_string: str


def _target(base_url: str, page: str, query: str) -> _Target:
    """Resolve base URL, page and query as the browser's address bar would give them."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "ws") or parts.hostname != "127.0.0.1" or not parts.port:
        raise ValueError(f"only http://127.0.0.1:<port> servers are allowed, got {base_url!r}")
    if "?" in page and not query:
        page, query = page.split("?", 1)
    base_path = parts.path.rstrip("/")
    origin = f"http://127.0.0.1:{parts.port}"
    page_path = page.strip("/")
    query = query.lstrip("?")
    return _Target(
        ws_url=f"ws://127.0.0.1:{parts.port}{base_path}/{STREAM_PATH}",
        origin=origin,
        page_url=f"{origin}{base_path}/{page_path}" + (f"?{query}" if query else ""),
        # extractPageNameFromPathName: the path below the base, without slashes, decoded.
        page_name=unquote(page_path),
        query_string=query,
    )


# --------------------------------------------------------------------------- ForwardMsg cache


@dataclass
class _CacheEntry:
    raw: bytes
    run_count: int
    fragment_id: str


class _ForwardMsgCache:
    """The frontend's ForwardMsgCache: keep cacheable messages, resolve ref_hash stubs."""

    def __init__(self) -> None:
        self._entries: dict[str, _CacheEntry] = {}
        self._run_count = 0

    def hashes(self) -> list[str]:
        """Hashes to report in ClientState.cached_message_hashes."""
        return list(self._entries)

    def process(self, msg: ForwardMsg, raw: bytes) -> ForwardMsg:
        """Cache msg if cacheable; return the referenced message for a ref_hash stub."""
        if msg.WhichOneof("type") != "ref_hash":
            if msg.metadata.cacheable and msg.hash:
                entry = self._entries.get(msg.hash)
                if entry is not None:
                    entry.run_count = self._run_count
                else:
                    fragment_id = msg.delta.fragment_id if msg.HasField("delta") else ""
                    self._entries[msg.hash] = _CacheEntry(raw, self._run_count, fragment_id)
            return msg
        entry = self._entries.get(msg.ref_hash)
        if entry is None:
            raise LookupError(f"ForwardMsg cache miss for hash {msg.ref_hash}")
        entry.run_count = self._run_count
        cached = ForwardMsg.FromString(entry.raw)
        cached.metadata.CopyFrom(msg.metadata)
        return cached

    def finished_run(self, max_age: int, fragment_ids: list[str]) -> None:
        """Age the entries after a finished run; a fragment run ages only its own."""
        self._run_count += 1
        for key, entry in list(self._entries.items()):
            if fragment_ids and entry.fragment_id not in fragment_ids:
                continue
            if self._run_count - entry.run_count > max_age:
                del self._entries[key]


# --------------------------------------------------------------------------- one session

_COUNTED_FINISH = (
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
)


@dataclass
class _Session:
    """One browser tab: a websocket, its page state and its auto-rerun timers."""

    target: _Target
    session_id: str = ""
    page_script_hash: str = ""  # the frontend's currentPageScriptHash
    query_string: str = ""
    max_cached_message_age: int = 2
    has_received_new_session: bool = False
    reruns_sent: int = 0  # auto-rerun BackMsgs
    forward_msgs: int = 0
    open: bool = False
    errors: list[str] = field(default_factory=list)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    cache: _ForwardMsgCache = field(default_factory=_ForwardMsgCache)
    timers: dict[str, tuple[float, asyncio.Task]] = field(default_factory=dict)
    ws: ClientConnection | None = None

    def __post_init__(self) -> None:
        self.query_string = self.target.query_string

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, ask for the page, answer the server until stop is set or it hangs up."""
        try:
            async with connect(
                self.target.ws_url,
                origin=self.target.origin,
                subprotocols=SUBPROTOCOLS,
                proxy=None,
                open_timeout=CONNECT_TIMEOUT,
                close_timeout=CLOSE_TIMEOUT,
                ping_interval=None,  # browsers do not ping; the server's pings get pongs
                max_size=None,
            ) as ws:
                self.ws, self.open = ws, True
                await self._send_rerun()
                receiver = asyncio.create_task(self._receive(ws))
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
                ended_first = receiver.done()
                for task in (receiver, stopper):
                    task.cancel()
                await asyncio.gather(receiver, stopper, return_exceptions=True)
                if ended_first and not stop.is_set():
                    problem = receiver.exception()
                    self.errors.append(
                        f"{type(problem).__name__}: {problem}" if problem else "server hung up"
                    )
        except (OSError, TimeoutError, WebSocketException) as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.open = False
            self._clear_timers()
            self.settled.set()

    async def _receive(self, ws: ClientConnection) -> None:
        """Decode and dispatch every ForwardMsg until the connection ends."""
        with suppress(ConnectionClosed):
            async for data in ws:
                if isinstance(data, str):
                    self.errors.append("text frame from server")
                    continue
                self.forward_msgs += 1
                self._dispatch(self.cache.process(ForwardMsg.FromString(data), data))

    def _dispatch(self, msg: ForwardMsg) -> None:
        """React to one ForwardMsg as App.handleMessage does (the parts that matter here)."""
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self._on_new_session(msg)
        elif kind == "auto_rerun":
            self._on_auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self._clear_timer(fragment_id)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "script_finished":
            self._on_script_finished(msg)
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {self.target.page_name!r}")
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            self.errors.append("script compilation error")
        elif kind == "delta" and msg.delta.new_element.WhichOneof("type") == "exception":
            self.errors.append(f"app exception: {msg.delta.new_element.exception.message}")

    def _on_new_session(self, msg: ForwardMsg) -> None:
        new_session = msg.new_session
        self.has_received_new_session = True
        if not self.session_id:
            self.session_id = new_session.initialize.session_id
            self.max_cached_message_age = new_session.config.max_cached_message_age
        if not msg.metadata.run.fragment_ids:
            # A full run: the frontend drops every auto-rerun timer and adopts the page.
            self._clear_timers()
            self.page_script_hash = new_session.page_script_hash

    def _on_script_finished(self, msg: ForwardMsg) -> None:
        status = msg.script_finished
        if (
            status in _COUNTED_FINISH
            and msg.metadata.HasField("run")
            and self.has_received_new_session
        ):
            self.cache.finished_run(
                self.max_cached_message_age, list(msg.metadata.run.fragment_ids)
            )
        if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self.settled.set()

    def _on_auto_rerun(self, fragment_id: str, interval: float) -> None:
        """App.handleAutoRerun: one interval timer per fragment id."""
        if not fragment_id or interval <= 0:
            return  # 1.67's frontend ignores auto-reruns without a fragment id
        current = self.timers.get(fragment_id)
        if current is not None and current[0] == interval:
            return  # same interval: keep the running countdown
        self._clear_timer(fragment_id)
        task = asyncio.create_task(self._tick(fragment_id, interval))
        self.timers[fragment_id] = (interval, task)

    async def _tick(self, fragment_id: str, interval: float) -> None:
        """setInterval: send the fragment's auto-rerun every interval seconds."""
        loop = asyncio.get_running_loop()
        due = loop.time() + interval
        with suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(max(0.0, due - loop.time()))
                due += interval
                await self._send_rerun(fragment_id, is_auto_rerun=True)
                self.reruns_sent += 1

    def _clear_timer(self, fragment_id: str) -> None:
        entry = self.timers.pop(fragment_id, None)
        if entry is not None:
            entry[1].cancel()

    def _clear_timers(self) -> None:
        for fragment_id in list(self.timers):
            self._clear_timer(fragment_id)

    async def _send_rerun(self, fragment_id: str = "", is_auto_rerun: bool = False) -> None:
        """App.sendRerunBackMsg."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        state.widget_states.SetInParent()  # no widgets on an idle page: an empty set
        if self.page_script_hash:
            state.page_script_hash = self.page_script_hash
        else:
            state.page_name = self.target.page_name  # first run: the page from the URL path
        if fragment_id:
            state.fragment_id = fragment_id
        if is_auto_rerun:
            state.is_auto_rerun = True
        state.cached_message_hashes.extend(self.cache.hashes())
        context = state.context_info
        context.timezone = "UTC"
        context.timezone_offset = 0
        context.locale = "en-US"
        context.url = self.target.page_url
        context.is_embedded = False
        context.color_scheme = "light"
        if self.ws is None:
            return
        await self.ws.send(msg.SerializeToString())
        self.has_received_new_session = False


# --------------------------------------------------------------------------- the benchmark


def _error_summary(sessions: list[_Session]) -> dict[str, int]:
    counts = collections.Counter(error for session in sessions for error in session.errors)
    return dict(counts.most_common(MAX_ERROR_KINDS))


async def _measure(
    targets: list[_Target], server_pid: int, n: int, seconds: float, warmup: float
) -> dict:
    """Open the sessions, let them settle and warm up, measure, then close everything."""
    stop = asyncio.Event()
    sessions = [_Session(targets[i % len(targets)]) for i in range(n)]
    tasks = [asyncio.create_task(session.run(stop)) for session in sessions]
    try:
        with suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(session.settled.wait() for session in sessions)),
                SETTLE_TIMEOUT,
            )
        ready = sum(1 for session in sessions if session.open and session.session_id)
        if not ready:
            raise RuntimeError(f"no session reached the page: {_error_summary(sessions)}")
        await asyncio.sleep(warmup)

        reruns_before = sum(session.reruns_sent for session in sessions)
        cpu_before, wall_before = process_tree_cpu_seconds(server_pid), time.time()
        start = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - start
        cpu_used = process_tree_cpu_seconds(server_pid) - cpu_before
        wall_after = time.time()
        reruns_window = sum(session.reruns_sent for session in sessions) - reruns_before
        still_open = sum(1 for session in sessions if session.open)
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT + 5)
        for task in tasks:
            task.cancel()
    return {
        "cpu_percent_of_one_core": round(100.0 * cpu_used / elapsed, 2),
        "sessions": n,
        "reruns_sent": reruns_window,
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu_used, 3),
        "sessions_ready": ready,
        "sessions_open_at_end": still_open,
        "reruns_sent_total": sum(session.reruns_sent for session in sessions),
        "forward_msgs": sum(session.forward_msgs for session in sessions),
        "warmup": warmup,
        "window": (round(wall_before, 3), round(wall_after, 3)),
        "session_ids": [session.session_id for session in sessions if session.session_id],
        "errors": _error_summary(sessions),
    }


def idle_sessions_cpu(
    base_url: str,
    server_pid: int,
    *,
    n: int = 100,
    seconds: float = 60,
    page: str = "",
    query: str | list[str] = "",
    warmup: float = 10,
) -> dict:
    """Server CPU while n browser-like sessions sit idle on one page.

    Opens n websocket sessions to the Streamlit server at base_url (``http://127.0.0.1:<port>``
    only) in one asyncio loop, each asking for page (the URL path of an ``st.navigation``
    page, e.g. ``"exam"`` for ``/exam``; ``""`` is the default page; ``"learn?lesson=x"`` is
    split when query is empty) with query (``"a=1&b=2"``). Sessions answer the server's
    ``run_every`` auto-reruns as the browser does. A list of queries gives session i the
    query ``query[i % len(query)]`` (e.g. one exam attempt per session). After every session
    finished its first run (at most SETTLE_TIMEOUT s) and warmup more seconds, the CPU time of
    server_pid and its descendants is measured over seconds of wall time.
    Then all sessions are closed.

    Returns ``cpu_percent_of_one_core`` (100 = one core busy), ``sessions`` (n),
    ``reruns_sent`` (auto-rerun BackMsgs sent during the measured window) and ``seconds``
    (measured wall time), plus ``cpu_seconds``, ``sessions_ready``, ``sessions_open_at_end``,
    ``reruns_sent_total``, ``forward_msgs``, ``warmup``, ``window`` (unix start, end),
    ``session_ids`` and ``errors`` (message -> count).
    """
    if n < 1 or seconds <= 0 or warmup < 0:
        raise ValueError("need n >= 1, seconds > 0 and warmup >= 0")
    queries = query if isinstance(query, list) else [query]
    targets = [_target(base_url, page, q) for q in queries]
    return asyncio.run(_measure(targets, server_pid, n, seconds, warmup))


# --------------------------------------------------------------------------- self-check


def _auto_runs(counts: Path, window: tuple[float, float]) -> collections.Counter:
    """Fragment-only runs per session id recorded by the app inside the window."""
    runs: collections.Counter = collections.Counter()
    if not counts.exists():
        return runs
    for line in counts.read_text().splitlines():
        stamp, session_id, kind, _query = line.split("\t")
        if kind == "auto" and window[0] <= float(stamp) <= window[1]:
            runs[session_id] += 1
    return runs


def _run_app(counts: Path, run_every: float, **kwargs) -> dict:
    """Serve fragment_timer.py with the given run_every and measure idle sessions on it."""
    env = {"BENCH_RUN_EVERY": str(run_every), "BENCH_COUNTS": str(counts)}
    with streamlit_server(APP, env=env) as server:
        result = idle_sessions_cpu(server.url, server.process.pid, page="timer", **kwargs)
        if result["errors"] and server.log is not None:
            tail = server.log.read_text(errors="replace").splitlines()[-40:]
            print("server log (tail):", *tail, sep="\n  ", file=sys.stderr)
    return result


def _show(result: dict) -> None:
    shown = {key: value for key, value in result.items() if key != "session_ids"}
    for key, value in shown.items():
        print(f"  {key:24} {value}")


def main() -> int:
    """Self-check: auto-reruns are really answered, then the 100-session figure."""
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        counts = Path(tmp) / "counts.tsv"
        print("5 sessions on /timer?probe=1, run_every=2 s, 10 s measured:")
        result = _run_app(counts, 2, n=5, seconds=10, warmup=3, query="probe=1")
        _show(result)
        runs = _auto_runs(counts, result["window"])
        print("  fragment runs per session in the window (expect about 5):")
        for session_id in result["session_ids"]:
            print(f"    {session_id}  {runs[session_id]}")
        if len(result["session_ids"]) != 5 or not all(
            4 <= runs[session_id] <= 6 for session_id in result["session_ids"]
        ):
            print("  FAIL: sessions did not get about 5 fragment runs each")
            ok = False
        counts.unlink(missing_ok=True)

        print("100 sessions on /timer, run_every=15 s, 30 s measured:")
        result = _run_app(counts, 15, n=100, seconds=30, warmup=10)
        _show(result)
        runs = _auto_runs(counts, result["window"])
        print(f"  fragment runs recorded by the app in the window: {sum(runs.values())}")
        print(f"CPU: {result['cpu_percent_of_one_core']} % of one core")
        if result["sessions_open_at_end"] != 100 or result["errors"]:
            print("  FAIL: sessions lost or errors reported")
            ok = False
    print("self-check:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
