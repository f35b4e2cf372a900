"""Run learner code in a child process: pool UID, rlimits, Landlock, seccomp, clean env, quotas.

DESIGN.md, "The sandbox for labs". The runner (this module) never touches the protections
itself: it starts `launcher.py` with Debian's /usr/bin/python3, and the launcher applies
rlimits, Landlock and seccomp, drops to the run's UID and execs the command (no preexec_fn,
which can deadlock in a threaded server). This module owns the work folders and the UID pool,
watches the work folder's size and tells what happened; triops.labs.process streams and caps
the output, enforces the wall clock and stops the launcher. Domain code: no streamlit, no database.

Statuses: ok, failed, timeout (wall clock), cpu-limit (SIGXCPU, or SIGKILL at the hard CPU
limit), memory-limit (MemoryError/ENOMEM signature after RLIMIT_AS), disk-limit (RLIMIT_FSIZE,
or the work folder's total size or entry count over Limits.disk_mb / Limits.files, polled),
output-truncated (output cap reached: the run is stopped), killed (any other signal).
Everything the run started is killed when its command ends: nothing survives a run.

Layout under the root (default: <system temp dir>/triops-sandbox, mode 0711):

    launcher.py                 copy of the launcher (the project folder may not be traversable)
    box-<uid>-<token>/          0700, owned by the UID: the only place the run may write
        work/                   the work folder handed out (seeded, shared by a job's steps)
        home/  tmp/             HOME and TMPDIR

The UIDs belong to the machine, so their locks do too: /run/lock/triops-sandbox-uids/<uid>.lock
(flock held by the process that owns the UID's work folder; released if it dies) whatever the
root. Without root the runs keep the caller's identity and the locks live in <root>/locks.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from triops.errors import InvalidInputError, TriopsError
from triops.labs.process import supervise
from triops.terminal import visible

LAUNCHER = Path(__file__).with_name("launcher.py")
DEFAULT_UIDS = range(61000, 61064)
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

STATUSES = (
    "ok",
    "failed",
    "timeout",
    "cpu-limit",
    "memory-limit",
    "disk-limit",
    "output-truncated",
    "killed",
)
PROTECTIONS = (
    "uid",
    "rlimits",
    "landlock",
    "seccomp",
    "network-off",
    "proc-private",
    "env-clean",
    "disk-quota",
)
# The launcher's own environment: it starts as root, so nothing of the command's environment
# may reach it (the dynamic loader would apply LD_PRELOAD and friends before the drop).
LAUNCHER_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}

# What a Python tool run needs to read (and execute); everything else is out of reach.
SYSTEM_READ = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/proc",
    "/sys/devices/system/cpu",
    "/dev/urandom",
    "/dev/random",
)
DEVICES = ("/dev/null", "/dev/zero", "/dev/full")

MEMORY_SIGNS = (
    "MemoryError",
    "Cannot allocate memory",
    "std::bad_alloc",
    "out of memory",
    "Unable to allocate",
    "memory allocation failed",
)
DISK_SIGNS = ("File too large", "Disk quota exceeded", "No space left on device")

UID_LOCKS = Path("/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir()) / (
    "triops-sandbox-uids"
)
STOP_GRACE = 2.0  # seconds the launcher gets to kill and reap after SIGTERM


class SandboxError(TriopsError):
    """The sandbox cannot run now: its root folder is unusable or every UID is busy."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run; the defaults suit a lab run."""

    wall_seconds: float = 60
    cpu_seconds: int = 60
    memory_mb: int = 1024
    processes: int = 128
    open_files: int = 256
    file_size_mb: int = 64
    disk_mb: int = 256
    output_bytes: int = 1_000_000
    files: int = 10_000  # entries (files and folders) in the work folder, for inode floods

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise InvalidInputError(f"Sandbox limit {name} must be positive, got {value!r}.")


DEFAULT_LIMITS = Limits()


@dataclass
class SandboxResult:
    """What one run did. `output` holds stdout and stderr interleaved, capped."""

    status: str
    exit_code: int | None
    seconds: float
    output: str
    protections: list[str]
    missing: list[str]
    workdir: Path
    reasons: dict[str, str] = field(default_factory=dict)  # missing protection -> why

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class _Slot:
    uid: int
    box: Path
    lock_fd: int
    busy: threading.Lock = field(default_factory=threading.Lock)

    @property
    def work(self) -> Path:
        return self.box / "work"

    @property
    def home(self) -> Path:
        return self.box / "home"

    @property
    def tmp(self) -> Path:
        return self.box / "tmp"


def _status_head(pid: str) -> bytes | None:
    """The start of /proc/PID/status (State: and Uid: are in its first lines), or None."""
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        head = os.read(fd, 1024)
        while b"\nUid:" not in head:  # a long Name: line; read on to the Uid: line
            more = os.read(fd, 4096)
            if not more:
                break
            head += more
        return head
    except OSError:
        return None
    finally:
        os.close(fd)


def processes_of(uid: int) -> list[int]:
    """Live (not zombie) processes whose real UID is `uid`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        status = _status_head(name)
        if status is None:
            continue
        real_uid = state = None
        for line in status.split(b"\n"):
            if line.startswith(b"State:"):
                state = line.split()[1]
            elif line.startswith(b"Uid:"):
                real_uid = int(line.split()[1])
                break
        if real_uid == uid and state != b"Z":
            found.append(int(name))
    return found


def kill_uid(uid: int, rounds: int = 50) -> bool:
    """SIGKILL every process of `uid` (root only); True when none is left."""
    for _ in range(rounds):
        pids = processes_of(uid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
    return not processes_of(uid)


def disk_usage(path: Path, max_entries: int) -> tuple[int, int]:
    """Bytes used and entries below `path`, never following links; stops past max_entries.

    A file counts at the larger of its allocated and its apparent size: a sparse file takes
    almost no blocks, but every copy of it (an artifact upload, a kept run) writes it whole."""
    total = entries = 0
    stack = [os.fspath(path)]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for entry in it:
                entries += 1
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += max(st.st_blocks * 512, st.st_size if stat.S_ISREG(st.st_mode) else 0)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                if entries > max_entries:
                    return total, entries
    return total, entries


class Sandbox:
    """Hands out work folders bound to pool UIDs and runs commands in them."""

    def __init__(
        self,
        root: Path | None = None,
        uids: range = DEFAULT_UIDS,
        python: str = "/usr/bin/python3",
    ):
        self.root = Path(root) if root else Path(tempfile.gettempdir()) / "triops-sandbox"
        self.uids = uids
        self.python = python
        self.privileged = os.geteuid() == 0
        self._slots: dict[Path, _Slot] = {}
        self._lock = threading.Lock()
        self._launcher: Path | None = None
        self._locks = UID_LOCKS

    # ------------------------------------------------------------------ work folders

    def check(self) -> None:
        """Make the root folder ready, or raise SandboxError saying why no run can start here
        (a root the pool users cannot traverse, a root owned by someone else): callers can
        report it in one line before they start anything."""
        try:
            self._prepare()
        except OSError as exc:
            raise SandboxError(f"The sandbox folder {self.root} cannot be used: {exc}") from exc

    def workdir(self, seed: Path | None = None) -> Path:
        """A fresh 0700 work folder owned by a free pool UID, seeded with a copy of `seed`."""
        self._prepare()
        slot = self._allocate()
        try:
            for folder in (slot.box, slot.work, slot.home, slot.tmp):
                folder.mkdir(mode=0o700)
                folder.chmod(0o700)
            if seed is not None:
                self._seed(slot, Path(seed))
            if self.privileged:
                self._chown_tree(slot.box, slot.uid)
        except BaseException:
            self._release(slot)
            raise
        return slot.work

    def cleanup(self, workdir: Path) -> None:
        """Kill what is left of the UID, delete the work folder and free the UID."""
        with self._lock:
            slot = self._slots.get(self._key(workdir))
            if slot is None:
                raise InvalidInputError(f"{workdir} is not a work folder of this sandbox.")
            if not slot.busy.acquire(blocking=False):
                raise SandboxError(f"{workdir} is still running a command.")
        try:
            self._release(slot)
        finally:
            slot.busy.release()

    def close(self) -> None:
        """Clean up every work folder this sandbox still holds."""
        for work in [slot.work for slot in list(self._slots.values())]:
            try:
                self.cleanup(work)
            except TriopsError:
                pass

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hand_over(self, workdir: Path) -> None:
        """Give files this process wrote into a work folder to the folder's UID (as root).

        Write into a work folder a run has used only without following links (a run may have
        left a link where you write): O_NOFOLLOW, or a fresh sub-folder of your own.
        """
        slot = self._slots.get(self._key(workdir))
        if slot is None:
            raise InvalidInputError(f"{workdir} is not a work folder of this sandbox.")
        if self.privileged:
            self._chown_tree(slot.box, slot.uid)

    def uid_of(self, workdir: Path) -> int:
        """The pool UID a work folder belongs to."""
        slot = self._slots.get(self._key(workdir))
        if slot is None:
            raise InvalidInputError(f"{workdir} is not a work folder of this sandbox.")
        return slot.uid

    # ------------------------------------------------------------------------ running

    def run(
        self,
        cmd: list[str],
        *,
        workdir: Path | None = None,
        seed: Path | None = None,
        limits: Limits = DEFAULT_LIMITS,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        allow_network: bool = False,
        on_output: Callable[[str], None] | None = None,
        extra_read_paths: Sequence[Path] = (),
    ) -> SandboxResult:
        """Run `cmd` in the sandbox and wait for it; stdout and stderr stream to `on_output`.

        Without `workdir` a fresh one is made (seeded from `seed`): it stays for the caller to
        read and must be given to `cleanup`. `env` is the command's whole environment besides
        HOME, TMPDIR, PATH and LANG (PATH and LANG may be overridden). Python buffers its
        output when it is not a terminal: pass PYTHONUNBUFFERED=1 to see logs live.
        """
        if not cmd or not all(isinstance(part, str) and "\0" not in part for part in cmd):
            raise InvalidInputError("The sandbox needs a command: a non-empty list of strings.")
        if workdir is not None and seed is not None:
            raise InvalidInputError("Only a fresh work folder can be seeded: use workdir(seed).")
        variables = _check_env(env)
        subdir = _check_cwd(cwd)
        if workdir is None:
            workdir = self.workdir(seed)
        slot = self._slots.get(self._key(workdir))
        if slot is None:
            raise InvalidInputError(f"{workdir} is not a work folder of this sandbox.")
        if not slot.busy.acquire(blocking=False):
            raise SandboxError(f"{workdir} is already running a command.")
        try:
            environment = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", **variables}
            environment.update(HOME=str(slot.home), TMPDIR=str(slot.tmp))
            return self._run(
                slot,
                cmd,
                limits=limits,
                env=environment,
                cwd=slot.work / subdir,
                allow_network=allow_network,
                on_output=on_output,
                read=self._read_paths(extra_read_paths),
            )
        finally:
            slot.busy.release()

    def _run(
        self,
        slot: _Slot,
        cmd: list[str],
        *,
        limits: Limits,
        env: dict[str, str],
        cwd: Path,
        allow_network: bool,
        on_output: Callable[[str], None] | None,
        read: list[str],
    ) -> SandboxResult:
        status_r, status_w = os.pipe()
        env_fd = _env_file(env)
        config = [
            f"box={slot.box}",
            f"cwd={cwd}",
            f"status_fd={status_w}",
            f"env_fd={env_fd}",
        ]
        if self.privileged:
            config += [f"uid={slot.uid}", f"gid={slot.uid}"]
        config += [f"read={path}" for path in read] + [f"device={path}" for path in DEVICES]
        config += [
            f"cpu={limits.cpu_seconds}",
            f"as={limits.memory_mb * 2**20}",
            f"fsize={limits.file_size_mb * 2**20}",
            f"nproc={limits.processes}",
            f"nofile={limits.open_files}",
            f"network={int(allow_network)}",
            f"wall={limits.wall_seconds + 5}",  # the launcher's own backstop
        ]
        argv = [self.python, "-I", "-S", str(self._launcher), *config, "--", *cmd]
        budget = limits.disk_mb * 2**20
        scan = {"next": time.monotonic() + 0.2}

        def disk_over() -> str | None:
            """The box's size, looked at on a schedule that adapts to how long a scan takes."""
            if time.monotonic() < scan["next"]:
                return None
            t0 = time.monotonic()
            used, entries = disk_usage(slot.box, limits.files)
            scan["next"] = time.monotonic() + min(2.0, max(0.2, 20 * (time.monotonic() - t0)))
            return "disk-limit" if used > budget or entries > limits.files else None

        def kill_pool_uid() -> None:
            if self.privileged:
                kill_uid(slot.uid)

        notes: list[str] = []

        def line(text: str) -> None:
            if on_output is not None:
                on_output(visible(text))

        try:
            # The launcher gets SIGTERM on a stop, kills and reaps the run and reports; past
            # STOP_GRACE its group and everything of the UID are killed from here.
            finished = supervise(
                argv,
                env=LAUNCHER_ENV,
                cwd="/",
                wall=limits.wall_seconds,
                output_cap=limits.output_bytes,
                on_line=line,
                on_tick=disk_over,
                on_force=kill_pool_uid,
                grace=STOP_GRACE,
                linger=1.0,
                pass_fds=(status_w, env_fd),
                side_fd=status_r,
            )
        finally:
            os.close(status_r)
        stop_reason, forced = finished.stopped, finished.forced

        events = _events(finished.side)
        ready = events.get("ready", {})
        ended = events.get("exit")
        if self.privileged and (ended is None or forced):
            kill_uid(slot.uid)  # the launcher did not get to clean up
        error = events.get("error")
        if error:
            notes.append(f"sandbox: {error.get('message', 'the command could not start')}")
            if on_output is not None:
                on_output(notes[-1])
        seconds = finished.seconds

        exit_status = (ended or {}).get("status")
        if exit_status is None:
            exit_code = finished.exit_code if ended is None else None
        elif "signal" in exit_status:
            exit_code = -int(exit_status["signal"])
        else:
            exit_code = int(exit_status["code"])
        if stop_reason is None and ended is not None and ended.get("reason") == "timeout":
            stop_reason = "timeout"
        used, entries = disk_usage(slot.box, limits.files)
        over_disk = used > budget or entries > limits.files
        text = finished.output.decode("utf-8", errors="replace")
        for note in notes:
            text += ("" if not text or text.endswith("\n") else "\n") + note + "\n"
        status = _classify(
            stop_reason=stop_reason,
            exit_code=exit_code,
            cpu=float((ended or {}).get("cpu", 0.0)),
            signals=set((ended or {}).get("signals", [])),
            limits=limits,
            output=text,
            over_disk=over_disk,
        )
        protections = set(ready.get("protections", [])) | {"env-clean", "disk-quota"}
        reasons = dict(ready.get("missing", {}))
        if not ready:
            for name in ("uid", "rlimits", "landlock", "seccomp", "network-off", "proc-private"):
                reasons.setdefault(name, "the launcher did not start")
        if allow_network:
            protections.discard("network-off")
            reasons.pop("network-off", None)
        ordered = [name for name in PROTECTIONS if name in protections]
        missing = [
            name
            for name in PROTECTIONS
            if name not in protections and name in reasons and name != "disk-quota"
        ]
        return SandboxResult(
            status=status,
            exit_code=None if stop_reason else exit_code,
            seconds=seconds,
            output=text,
            protections=ordered,
            missing=missing,
            workdir=slot.work,
            reasons={name: reasons[name] for name in missing},
        )

    # --------------------------------------------------------------------- internals

    def _prepare(self) -> None:
        with self._lock:
            if self._launcher is not None:
                return
            root = self.root
            _own_folder(root, 0o711 if self.privileged else 0o700)
            if self.privileged:
                for folder in [root.resolve(), *root.resolve().parents]:
                    if not os.stat(folder).st_mode & 0o001:
                        raise SandboxError(
                            f"The sandbox users cannot reach {root}: {folder} is not "
                            "traversable by others. Set TRIOPS_SANDBOX_ROOT to a folder "
                            "under /tmp or /var/tmp."
                        )
            # The UIDs are the machine's, not the root's: every sandbox on this machine, whatever
            # its root, takes them through the same lock folder.
            self._locks = UID_LOCKS if self.privileged else root / "locks"
            _own_folder(self._locks, 0o700)
            target = root / "launcher.py"
            code = LAUNCHER.read_bytes()
            if not target.exists() or target.read_bytes() != code:
                partial = root / f".launcher-{secrets.token_hex(4)}.py"
                partial.write_bytes(code)
                partial.chmod(0o644)
                os.replace(partial, target)
            self._launcher = target

    def _allocate(self) -> _Slot:
        with self._lock:
            for uid in self.uids:
                lock_path = self._locks / f"{uid}.lock"
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                # The UID is ours: clear whatever a crashed owner may have left.
                if self.privileged:
                    kill_uid(uid)
                for stale in self.root.glob(f"box-{uid}-*"):
                    shutil.rmtree(stale, ignore_errors=True)
                slot = _Slot(
                    uid=uid, box=self.root / f"box-{uid}-{secrets.token_hex(6)}", lock_fd=fd
                )
                self._slots[self._key(slot.work)] = slot
                return slot
        raise SandboxError(
            f"All {len(self.uids)} sandbox slots are in use; try again when a lab run ends."
        )

    def _release(self, slot: _Slot) -> None:
        try:
            if self.privileged:
                kill_uid(slot.uid)
            shutil.rmtree(slot.box, ignore_errors=True)
        finally:
            with self._lock:
                self._slots.pop(self._key(slot.work), None)
            os.close(slot.lock_fd)

    def _seed(self, slot: _Slot, seed: Path) -> None:
        if seed.is_dir():
            shutil.copytree(seed, slot.work, symlinks=True, dirs_exist_ok=True)
        elif seed.is_file():
            shutil.copy2(seed, slot.work / seed.name)
        else:
            raise InvalidInputError(f"Cannot seed a work folder from {seed}: it does not exist.")

    @staticmethod
    def _chown_tree(top: Path, uid: int) -> None:
        """Give `top` and all below it to `uid` (owner rw, rwx on folders), following no link:
        after a run the UID may have planted links anywhere in its box."""
        nofollow = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        for _folder, dirs, files, dir_fd in os.fwalk(top, follow_symlinks=False):
            os.fchown(dir_fd, uid, uid)
            os.fchmod(dir_fd, stat.S_IMODE(os.fstat(dir_fd).st_mode) | 0o700)
            for name in dirs:
                os.chown(name, uid, uid, dir_fd=dir_fd, follow_symlinks=False)
            for name in files:
                os.chown(name, uid, uid, dir_fd=dir_fd, follow_symlinks=False)
                try:
                    fd = os.open(name, nofollow, dir_fd=dir_fd)
                except OSError:
                    continue  # a link, a socket
                try:
                    st = os.fstat(fd)
                    if stat.S_ISREG(st.st_mode):
                        os.fchmod(fd, stat.S_IMODE(st.st_mode) | 0o600)
                finally:
                    os.close(fd)

    @staticmethod
    def _key(workdir: Path) -> Path:
        return Path(os.path.abspath(workdir))

    def _read_paths(self, extra: Sequence[Path]) -> list[str]:
        paths = list(SYSTEM_READ)
        python = Path(self.python)
        if (python.parent.parent / "pyvenv.cfg").exists():
            paths.append(str(python.parent.parent))
        paths.append(str(Path(os.path.realpath(python)).parents[1]))
        paths += [os.fspath(p) for p in extra]
        return list(dict.fromkeys(paths))


def _own_folder(folder: Path, mode: int) -> None:
    """Make `folder` (parents too) and insist it is ours: /tmp and /run/lock are shared."""
    folder.mkdir(parents=True, exist_ok=True)
    st = os.lstat(folder)
    if os.path.islink(folder) or not os.path.isdir(folder):
        raise SandboxError(f"The sandbox folder {folder} is not a folder.")
    if st.st_uid != os.geteuid():
        raise SandboxError(
            f"The sandbox folder {folder} belongs to another user (uid {st.st_uid}); "
            "choose another root with TRIOPS_SANDBOX_ROOT."
        )
    folder.chmod(mode)


def _check_env(env: Mapping[str, str] | None) -> dict[str, str]:
    result = {}
    for key, value in (env or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidInputError(f"Environment entries must be strings: {key!r}.")
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise InvalidInputError(f"Invalid environment variable name {key!r}.")
        if key in ("HOME", "TMPDIR"):
            raise InvalidInputError(f"{key} is set by the sandbox and cannot be overridden.")
        result[key] = value
    return result


def _env_file(env: Mapping[str, str]) -> int:
    """A memory file holding `env` as NUL-separated NAME=value entries, for the launcher's
    env_fd (read from the start; nothing on disk, nothing in the launcher's own environment)."""
    blob = b"".join(
        os.fsencode(name) + b"=" + os.fsencode(value) + b"\0" for name, value in env.items()
    )
    fd = os.memfd_create("triops-env", os.MFD_CLOEXEC)
    try:
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_cwd(cwd: str | None) -> str:
    norm = os.path.normpath(cwd or ".")
    if os.path.isabs(norm) or norm == ".." or norm.startswith("../"):
        raise InvalidInputError(f"cwd must be a folder inside the work folder, not {cwd!r}.")
    return norm


def _events(raw: bytes) -> dict[str, dict]:
    events: dict[str, dict] = {}
    for line in bytes(raw).splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            events[event["event"]] = event
    return events


def _classify(
    *,
    stop_reason: str | None,
    exit_code: int | None,
    cpu: float,
    signals: set[int],
    limits: Limits,
    output: str,
    over_disk: bool,
) -> str:
    if stop_reason in ("timeout", "output-truncated", "disk-limit", "killed"):
        return stop_reason
    if stop_reason is not None:
        return "killed"
    if over_disk:
        return "disk-limit"
    if exit_code == 0:
        return "ok"
    if exit_code is None:
        return "killed"
    if exit_code == -signal.SIGXCPU or signal.SIGXCPU in signals:
        return "cpu-limit"
    if exit_code == -signal.SIGKILL and cpu >= limits.cpu_seconds:
        return "cpu-limit"  # SIGKILL at the hard CPU limit, after SIGXCPU was ignored
    if exit_code == -signal.SIGXFSZ or signal.SIGXFSZ in signals:
        return "disk-limit"
    if any(sign in output for sign in MEMORY_SIGNS):
        return "memory-limit"
    if any(sign in output for sign in DISK_SIGNS):
        return "disk-limit"
    if exit_code < 0:
        return "killed"
    return "failed"
