"""Triops sandbox launcher: run one command under rlimits, Landlock, seccomp and a pool UID.

Usage (by triops.labs.sandbox, never by hand):

    /usr/bin/python3 -I -S launcher.py KEY=VALUE... -- CMD [ARG...]

`confine(network=...)` applies the same seccomp filter and no-new-privileges to a process that
limits itself (the eval lab's child, triops.labs.eval_child).

Standard library only, so that Debian's /usr/bin/python3 runs it without the project's venv,
and only cheap modules (no json, no signal: they cost more than the rest of the start-up).
The process started by the runner becomes a small supervisor that stays outside the sandbox:
it marks itself a child subreaper (orphans of the sandbox, including a setsid'ed daemon, are
re-parented to it and not to PID 1, which does not reap them in a container), forks the child
that applies the protections and execs the command, enforces a wall-clock backstop, and when
the command ends (or on SIGTERM from the runner) kills every process left in the sandbox and
reaps it. It reports on the status fd, one JSON object a line:

    {"event": "ready", "protections": [...], "missing": {name: reason}}   (child, before exec)
    {"event": "error", "message": "..."}                                   (child, exec failed)
    {"event": "exit", "status": {...}, "cpu": s, "signals": [...], "reason": ...}  (supervisor)

Keys (a key given twice makes a list): uid, gid (absent: keep the caller's identity), box (the
only writable folder), cwd, read (read and execute, repeatable), device (read and write device
files, repeatable), cpu (seconds), as and fsize (bytes), nproc, nofile, network (0 or 1),
status_fd, env_fd, wall (backstop seconds).

The launcher starts as root, so its own environment is fixed and minimal (the runner passes only
PATH and LANG): a learner's LD_PRELOAD, LD_LIBRARY_PATH or LD_DEBUG_OUTPUT would otherwise be
applied by the dynamic loader to this root process before it drops privileges. The command's
environment comes through env_fd instead (a sealed memory file of NUL-separated NAME=value
entries), read here as data and handed to the command only at its execve, after the drop.

As root, the child also gets a mount namespace of its own with a fresh /proc mounted
hidepid=invisible, so that a run sees only its own UID's processes (not the command lines of
other learners' runs); a missing namespace is reported as the missing protection "proc-private".
"""

import _signal as signal
import os
import resource
import stat
import sys
import time

LISTS = ("read", "device")
INTS = ("uid", "gid", "cpu", "as", "fsize", "nproc", "nofile", "network", "status_fd", "env_fd")
ENV_MAX = 4 << 20  # bytes of environment the runner may hand over

PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

# A mount namespace and a /proc of the run's own (sys/mount.h, sched.h).
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_REC, MS_PRIVATE = 0x4000, 1 << 18

# Landlock (include/uapi/linux/landlock.h); the syscall numbers are shared by all architectures.
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REFER = 1 << 13
FS_TRUNCATE = 1 << 14
FS_IOCTL_DEV = 1 << 15
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV

# libseccomp (seccomp.h)
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE = 1
SCMP_CMP_MASKED_EQ = 7
AF_UNIX = 1
EPERM = 1
ENOSYS = 38
CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "unshare",
    "setns",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "name_to_handle_at",
)


def _libc():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    return ctypes, libc


def _json(value):
    """A small JSON encoder for the status events (the json module is slow to import)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        out = []
        for ch in value:
            if ch in '"\\':
                out.append("\\" + ch)
            elif ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(_json(str(k)) + ": " + _json(v) for k, v in value.items()) + "}"
    return "[" + ", ".join(_json(v) for v in value) + "]"


def _emit(fd, **event):
    try:
        os.write(fd, (_json(event) + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def parse_config(args):
    """KEY=VALUE arguments into a dict: LISTS collect, INTS convert, the rest stay strings."""
    cfg = {key: [] for key in LISTS}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise ValueError(f"bad config argument {arg!r}")
        if key in LISTS:
            cfg[key].append(value)
        elif key in INTS:
            cfg[key] = int(value)
        elif key == "wall":
            cfg[key] = float(value)
        else:
            cfg[key] = value
    return cfg


def read_env(fd):
    """The command's environment from `fd`: NUL-separated NAME=value entries, read as data."""
    chunks, size = [], 0
    while True:
        chunk = os.pread(fd, 1 << 16, size)
        if not chunk:
            break
        size += len(chunk)
        if size > ENV_MAX:
            raise ValueError("the command's environment is larger than 4 MB")
        chunks.append(chunk)
    env = {}
    for entry in b"".join(chunks).split(b"\0"):
        if not entry:
            continue
        name, sep, value = entry.partition(b"=")
        if not sep or not name:
            raise ValueError("a malformed environment entry")
        env[os.fsdecode(name)] = os.fsdecode(value)
    return env


# ---------------------------------------------------------------------------- the child


def _private_proc(ctypes, libc):
    """A mount namespace of this process's own, with a fresh /proc that shows each UID only its
    own processes (hidepid=invisible; hidepid=2 on kernels before 5.8)."""
    libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    if libc.unshare(CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "unshare(CLONE_NEWNS): " + os.strerror(err))
    # Nothing mounted here may propagate back to the machine's mount table.
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "making the mount namespace private: " + os.strerror(err))
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    for option in (b"hidepid=invisible", b"hidepid=2"):
        if libc.mount(b"proc", b"/proc", b"proc", flags, option) == 0:
            return
        err = ctypes.get_errno()
    raise OSError(err, "mounting a private /proc: " + os.strerror(err))


def _set_rlimits(cfg):
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = cfg["cpu"]
    # SIGXCPU at the soft limit, SIGKILL one second later if it is caught or ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (cfg["as"], cfg["as"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg["fsize"], cfg["fsize"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (cfg["nofile"], cfg["nofile"]))
    if cfg.get("uid") is not None:
        # Counts every process of the real UID: only meaningful for a UID of our own.
        resource.setrlimit(resource.RLIMIT_NPROC, (cfg["nproc"], cfg["nproc"]))


def _landlock(cfg, ctypes, libc):
    """Restrict this process (and what it execs) to the config's folders; returns the ABI."""
    abi = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 0:
        err = ctypes.get_errno()
        raise OSError(err, "Landlock is not available: " + os.strerror(err))
    handled_fs = (1 << 13) - 1
    if abi >= 2:
        handled_fs |= FS_REFER
    if abi >= 3:
        handled_fs |= FS_TRUNCATE
    if abi >= 5:
        handled_fs |= FS_IOCTL_DEV
    handled_net = 0
    if abi >= 4 and not cfg.get("network"):
        handled_net = NET_BIND_TCP | NET_CONNECT_TCP  # no rule: every TCP bind/connect is denied
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0

    class RulesetAttr(ctypes.Structure):
        _fields_ = [
            ("handled_access_fs", ctypes.c_uint64),
            ("handled_access_net", ctypes.c_uint64),
            ("scoped", ctypes.c_uint64),
        ]

    class PathBeneathAttr(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    attr = RulesetAttr(handled_fs, handled_net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        err = ctypes.get_errno()
        raise OSError(err, "landlock_create_ruleset: " + os.strerror(err))
    try:
        reading = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
        device = FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE | FS_IOCTL_DEV
        rules = [(p, reading) for p in cfg.get("read", [])]
        rules += [(p, device) for p in cfg.get("device", [])]
        rules.append((cfg["box"], handled_fs))
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a folder this machine does not have (/lib32, /libx32 ...)
            try:
                is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                access &= handled_fs if is_dir else handled_fs & FILE_RIGHTS
                rule = PathBeneathAttr(access, fd)
                rc = libc.syscall(
                    SYS_LANDLOCK_ADD_RULE,
                    ruleset,
                    LANDLOCK_RULE_PATH_BENEATH,
                    ctypes.byref(rule),
                    0,
                )
                if rc < 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"landlock_add_rule({path}): {os.strerror(err)}")
            finally:
                os.close(fd)
        # Needs no_new_privs (set by the caller) or CAP_SYS_ADMIN.
        if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) < 0:
            err = ctypes.get_errno()
            raise OSError(err, "landlock_restrict_self: " + os.strerror(err))
    finally:
        os.close(ruleset)
    return abi, handled_net != 0


def _seccomp(cfg, ctypes):
    """Load a filter that denies network sockets, ptrace, namespaces, io_uring and the like."""
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError as exc:
        raise OSError(0, "libseccomp.so.2 is not installed (Debian package libseccomp2)") from exc

    class ArgCmp(ctypes.Structure):
        _fields_ = [
            ("arg", ctypes.c_uint),
            ("op", ctypes.c_int),
            ("datum_a", ctypes.c_uint64),
            ("datum_b", ctypes.c_uint64),
        ]

    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(ArgCmp),
    ]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]

    def errno_action(err):
        return 0x00050000 | (err & 0xFFFF)

    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise OSError(0, "seccomp_init failed")
    try:

        def rule(name, err, *cmps):
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr < 0:
                return  # not a syscall on this architecture
            array = (ArgCmp * max(len(cmps), 1))(*cmps)
            rc = lib.seccomp_rule_add_array(ctx, errno_action(err), nr, len(cmps), array)
            if rc < 0:
                raise OSError(-rc, f"seccomp_rule_add({name}): {os.strerror(-rc)}")

        for name in DENIED_SYSCALLS:
            rule(name, EPERM)
        rule("clone3", ENOSYS)  # its flags sit behind a pointer; glibc falls back to clone
        for flag in CLONE_NAMESPACE_FLAGS:
            rule("clone", EPERM, ArgCmp(0, SCMP_CMP_MASKED_EQ, flag, flag))
        if not cfg.get("network"):
            # Only AF_UNIX: no AF_INET/AF_INET6 (loopback included), AF_PACKET, AF_NETLINK ...
            rule("socket", EPERM, ArgCmp(0, SCMP_CMP_NE, AF_UNIX, 0))
        rc = lib.seccomp_load(ctx)
        if rc < 0:
            raise OSError(-rc, "seccomp_load: " + os.strerror(-rc))
    finally:
        lib.seccomp_release(ctx)


def confine(network):
    """No new privileges and the sandbox's seccomp filter (network sockets refused unless
    `network`) for this process and all it starts: for a process of the project's own that
    limits itself before it reads learner input, as the eval lab's child does. OSError when
    the kernel or libseccomp refuses."""
    ctypes, libc = _libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    _seccomp({"network": int(bool(network))}, ctypes)


def _child(cfg, argv, status_fd, env):
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    # Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive execve: restore them.
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    protections, missing = [], {}

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    high = hard if 0 < hard < (1 << 20) else 1 << 20
    os.closerange(3, status_fd)
    os.closerange(status_fd + 1, high)
    os.set_inheritable(status_fd, False)

    _set_rlimits(cfg)
    protections.append("rlimits")
    ctypes, libc = _libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")

    if cfg.get("uid") is not None:
        # Before Landlock, which refuses mounts; the /proc read rule then names the new /proc.
        try:
            _private_proc(ctypes, libc)
            protections.append("proc-private")
        except OSError as exc:
            missing["proc-private"] = exc.strerror or str(exc)
    else:
        missing["proc-private"] = "not running as root: other users' processes stay visible"

    tcp_blocked = False
    try:
        _abi, tcp_blocked = _landlock(cfg, ctypes, libc)
        protections.append("landlock")
    except OSError as exc:
        missing["landlock"] = exc.strerror or str(exc)

    uid, gid = cfg.get("uid"), cfg.get("gid")
    if uid is not None:
        for fd in (1, 2):
            # The output pipe was made by root (mode 0600): let the UID reopen it through
            # /dev/stdout or /proc/self/fd, as shell scripts do.
            try:
                if stat.S_ISFIFO(os.fstat(fd).st_mode):
                    os.fchown(fd, uid, gid)
            except OSError:
                pass
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        protections.append("uid")
    else:
        missing["uid"] = "not running as root: the command runs as the server's own user"

    try:
        _seccomp(cfg, ctypes)
        protections.append("seccomp")
        if not cfg.get("network"):
            protections.append("network-off")
    except OSError as exc:
        missing["seccomp"] = exc.strerror or str(exc)
        if not cfg.get("network"):
            missing["network-off"] = (
                "no seccomp filter; Landlock blocks TCP only"
                if tcp_blocked
                else "no seccomp filter and no Landlock network rules"
            )

    os.umask(0o077)
    os.chdir(cfg["cwd"])
    _emit(status_fd, event="ready", protections=protections, missing=missing)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        _emit(status_fd, event="error", message=f"cannot run {argv[0]!r}: {exc.strerror}")
        os._exit(127)


# ----------------------------------------------------------------------- the supervisor


def _children_map():
    """pid -> parent pid of every live (not zombie) process, from /proc."""
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        if fields and fields[0] != b"Z":
            parents[int(name)] = int(fields[1])
    return parents


def _descendants(root_pid):
    parents = _children_map()
    found, frontier = set(), {root_pid}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _kill_sandbox(cfg):
    """SIGKILL every process of the sandbox: all of its UID at once, then any descendant."""
    uid, gid = cfg.get("uid"), cfg.get("gid")
    if uid is not None:
        # kill(-1) run as the sandbox UID reaches every process of that UID atomically (a fork
        # bomb cannot outrun it) and nothing else. The helper is reaped with the others.
        helper = os.fork()
        if helper == 0:
            try:
                os.setgroups([])
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
    me = os.getpid()
    for pid in _descendants(me):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _reap(main_pid, state):
    """Reap every child that has ended; returns False when there are no children left."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
        if os.WIFSIGNALED(status):
            state["signals"].add(os.WTERMSIG(status))
        if pid == main_pid:
            state["status"] = status
            state["cpu"] = usage.ru_utime + usage.ru_stime


def _describe(status):
    if status is None:
        return None
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"code": os.WEXITSTATUS(status)}


def main(argv):
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.stderr.write("usage: launcher.py KEY=VALUE... -- CMD [ARG...]\n")
        return 2
    split = argv.index("--")
    cfg = parse_config(argv[1:split])
    command = argv[split + 1 :]
    status_fd = cfg["status_fd"]
    os.set_inheritable(status_fd, False)
    env = {}
    if cfg.get("env_fd") is not None:
        try:
            env = read_env(cfg["env_fd"])
        except (OSError, ValueError) as exc:
            _emit(status_fd, event="error", message=f"sandbox setup failed: {exc}")
            return 2
        finally:
            os.close(cfg["env_fd"])

    watched = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    ctypes, libc = _libc()
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    main_pid = os.fork()
    if main_pid == 0:
        try:
            _child(cfg, command, status_fd, env)
        except BaseException as exc:  # report, never fall back into the supervisor's code
            _emit(status_fd, event="error", message=f"sandbox setup failed: {exc}")
        os._exit(127)

    # The supervisor holds neither the output pipe nor anything else of the run.
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    state = {"status": None, "cpu": 0.0, "signals": set()}
    deadline = time.monotonic() + float(cfg["wall"])
    reason = None
    while True:
        alive = _reap(main_pid, state)
        if state["status"] is not None or not alive:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            reason = "timeout"
            break
        info = signal.sigtimedwait(watched, min(left, 1.0))
        if info is not None and info.si_signo != signal.SIGCHLD:
            reason = "stopped"
            break

    # Whatever the command left behind (a background child, a setsid'ed daemon) goes now.
    give_up = time.monotonic() + 10
    while _reap(main_pid, state) and time.monotonic() < give_up:
        _kill_sandbox(cfg)
        time.sleep(0.005)
        if not _reap(main_pid, state):
            break
        signal.sigtimedwait({signal.SIGCHLD}, 0.2)

    _emit(
        status_fd,
        event="exit",
        status=_describe(state["status"]),
        cpu=state["cpu"],
        signals=sorted(state["signals"]),
        reason=reason,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
