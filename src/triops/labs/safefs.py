"""File operations on a folder that a learner's run controls, done as root without following links.

A workflow step runs as a pool UID and may leave anything in its work folder: a link where the
runner writes next, a FIFO where it reads, a link loop where it walks, a file far larger than it
looks. The runner then acts on that folder as root (checkout, artifacts, GITHUB_ENV and friends,
hashFiles). Every such operation goes through `Confined`: it holds a descriptor of the folder,
opened before any step ran, and reaches every path one component at a time relative to a
descriptor with O_NOFOLLOW, so a link anywhere along the path is refused rather than followed,
and `..` cannot leave the folder. Files are opened non-blocking and read only when they are
regular files, within a byte cap; walks never descend into links and stop at a deadline and an
entry count. Nothing of the UID runs while the runner does this (the launcher kills every
process of the UID when a step ends), so what was checked is what is used.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1 << 20


class UnsafePath(ValueError):
    """A path that leaves the folder, crosses a link, or is not the kind of file expected."""


class TooLarge(ValueError):
    """More bytes or entries than the operation allows."""


class TooSlow(ValueError):
    """The operation passed its deadline."""


@dataclass(frozen=True)
class Entry:
    """A file found by a walk: its path relative to the walked folder, its kind and size."""

    path: str  # posix, relative
    kind: str  # "file", "dir", "link" or "other"
    size: int


def parts_of(relative: str) -> list[str]:
    """The components of a path inside the folder; UnsafePath for an absolute path or `..`."""
    text = os.fspath(relative).replace("\\", "/")
    if text.startswith("/"):
        raise UnsafePath(f"'{relative}' is an absolute path, not a path inside the folder")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePath(f"'{relative}' goes up with '..', out of the folder")
    return parts


class Confined:
    """A folder (and everything below it) reached only through descriptors, never through links."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        try:
            self.fd = os.open(self.folder, DIR_FLAGS)
        except OSError as exc:
            raise UnsafePath(f"{folder} is not a folder that can be opened safely: {exc}") from exc

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Confined:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------- folders

    def open_dir(self, relative: str, *, create: bool = False) -> int:
        """A descriptor of the folder at `relative` (made when missing, with `create`)."""
        fd = os.dup(self.fd)
        walked: list[str] = []
        try:
            for part in parts_of(relative):
                walked.append(part)
                try:
                    nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=fd)
                    nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise UnsafePath(
                            f"'{'/'.join(walked)}' is a link or not a folder; the runner does not "
                            "follow links that a step left"
                        ) from exc
                    raise
                os.close(fd)
                fd = nxt
            return fd
        except BaseException:
            os.close(fd)
            raise

    def is_dir(self, relative: str) -> bool:
        """Whether `relative` is a real folder (not a link to one)."""
        try:
            os.close(self.open_dir(relative))
            return True
        except (OSError, UnsafePath):
            return False

    def _parent(self, relative: str, *, create: bool = False) -> tuple[int, str]:
        parts = parts_of(relative)
        if not parts:
            raise UnsafePath("a file path is needed, not the folder itself")
        return self.open_dir("/".join(parts[:-1]), create=create), parts[-1]

    # ------------------------------------------------------------------------- files

    def read_file(self, relative: str, limit: int) -> bytes:
        """The bytes of a regular file; UnsafePath for a link, FIFO or device, TooLarge past
        `limit` bytes. A missing file raises FileNotFoundError."""
        parent, name = self._parent(relative)
        try:
            return read_regular(parent, name, limit, shown=relative)
        finally:
            os.close(parent)

    def read_text(self, relative: str, limit: int, *, missing: str = "") -> str:
        """A regular file as UTF-8 text (undecodable bytes replaced); `missing` if absent."""
        try:
            return self.read_file(relative, limit).decode("utf-8", "replace")
        except FileNotFoundError:
            return missing

    def write_file(self, relative: str, data: bytes, mode: int = 0o644) -> None:
        """Create (or replace) a regular file; whatever a step left at that name goes first."""
        parent, name = self._parent(relative, create=True)
        try:
            write_new(parent, name, data, mode)
        finally:
            os.close(parent)

    def remove_children(self, relative: str) -> None:
        """Empty a folder without following any link in it."""
        fd = self.open_dir(relative)
        try:
            empty(fd)
        finally:
            os.close(fd)

    # -------------------------------------------------------------------------- walks

    def walk(
        self,
        relative: str = "",
        *,
        deadline: float | None = None,
        max_entries: int = 100_000,
    ) -> Iterator[Entry]:
        """Every entry below `relative`, depth first in name order, links listed as links and
        never followed; TooSlow past `deadline` (time.monotonic()), TooLarge past max_entries."""
        top = self.open_dir(relative)
        base = "/".join(parts_of(relative))
        yield from walk_fd(top, base, deadline=deadline, max_entries=max_entries)

    # ---------------------------------------------------------------------- copies in

    def copy_in(
        self,
        source: Path,
        relative: str,
        *,
        budget: int,
        deadline: float | None = None,
        on_file: Callable[[str], None] | None = None,
    ) -> int:
        """Copy the tree at `source` (a folder of the runner's) into `relative`, which is made
        when missing; links in the source are copied as links, folders merged, files replaced.
        Returns the bytes written; TooLarge past `budget`."""
        dest = self.open_dir(relative, create=True)
        src = os.open(source, DIR_FLAGS)
        try:
            return copy_tree(src, dest, budget=budget, deadline=deadline, on_file=on_file)
        finally:
            os.close(src)
            os.close(dest)


# --------------------------------------------------------------------------- helpers


def check_deadline(deadline: float | None, what: str = "the operation") -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TooSlow(f"{what} took longer than the step's time limit")


def read_regular(dir_fd: int, name: str, limit: int, *, shown: str | None = None) -> bytes:
    """Read `name` under `dir_fd`: a regular file only, never a link, at most `limit` bytes."""
    shown = shown or name
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(f"'{shown}' is a link; the runner does not follow links") from exc
        if exc.errno == errno.ENXIO:
            raise UnsafePath(f"'{shown}' is not a regular file") from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePath(f"'{shown}' is not a regular file (a FIFO, device or socket)")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"'{shown}' is larger than {limit:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_new(dir_fd: int, name: str, data: bytes, mode: int = 0o644) -> None:
    """Replace whatever is at `name` under `dir_fd` by a new regular file holding `data`."""
    _clear(dir_fd, name)
    fd = os.open(name, WRITE_FLAGS, mode, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _clear(dir_fd: int, name: str) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        import shutil

        shutil.rmtree(name, dir_fd=dir_fd)  # descriptor-based: never follows a link
    else:
        os.unlink(name, dir_fd=dir_fd)


def empty(dir_fd: int) -> None:
    """Remove everything in the folder `dir_fd`, following no link."""
    for name in sorted(os.listdir(dir_fd)):
        _clear(dir_fd, name)


def walk_fd(top: int, base: str, *, deadline: float | None, max_entries: int) -> Iterator[Entry]:
    """Walk the folder `top` (closed when done); see Confined.walk."""
    stack = [(top, base)]
    seen = 0
    try:
        while stack:
            fd, prefix = stack.pop()
            try:
                with os.scandir(fd) as it:
                    entries = sorted(it, key=lambda e: e.name, reverse=True)
                below = []
                for entry in reversed(entries):
                    seen += 1
                    if seen > max_entries:
                        raise TooLarge(f"more than {max_entries:,} files and folders")
                    check_deadline(deadline, "walking the workspace")
                    path = f"{prefix}/{entry.name}" if prefix else entry.name
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISLNK(st.st_mode):
                        yield Entry(path, "link", 0)
                    elif stat.S_ISDIR(st.st_mode):
                        yield Entry(path, "dir", 0)
                        try:
                            below.append((os.open(entry.name, DIR_FLAGS, dir_fd=fd), path))
                        except OSError:
                            continue  # swapped or unreadable: nothing below it is listed
                    elif stat.S_ISREG(st.st_mode):
                        yield Entry(path, "file", st.st_size)
                    else:
                        yield Entry(path, "other", 0)
                stack.extend(reversed(below))
            finally:
                os.close(fd)
    finally:
        for fd, _ in stack:
            os.close(fd)


def copy_tree(
    src: int,
    dest: int,
    *,
    budget: int,
    deadline: float | None = None,
    on_file: Callable[[str], None] | None = None,
    prefix: str = "",
) -> int:
    """Copy the folder `src` into the folder `dest` (descriptors; neither is closed)."""
    written = 0
    for name in sorted(os.listdir(src)):
        check_deadline(deadline, "copying files")
        st = os.stat(name, dir_fd=src, follow_symlinks=False)
        shown = f"{prefix}{name}"
        if stat.S_ISDIR(st.st_mode):
            try:
                target = os.open(name, DIR_FLAGS, dir_fd=dest)
            except FileNotFoundError:
                os.mkdir(name, 0o755, dir_fd=dest)
                target = os.open(name, DIR_FLAGS, dir_fd=dest)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                _clear(dest, name)  # a link or a file where a folder goes: replaced
                os.mkdir(name, 0o755, dir_fd=dest)
                target = os.open(name, DIR_FLAGS, dir_fd=dest)
            inner = os.open(name, DIR_FLAGS, dir_fd=src)
            try:
                written += copy_tree(
                    inner,
                    target,
                    budget=budget - written,
                    deadline=deadline,
                    on_file=on_file,
                    prefix=f"{shown}/",
                )
            finally:
                os.close(inner)
                os.close(target)
        elif stat.S_ISLNK(st.st_mode):
            _clear(dest, name)
            os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dest)
        elif stat.S_ISREG(st.st_mode):
            size = max(st.st_size, st.st_blocks * 512)
            if written + size > budget:
                raise TooLarge(f"copying '{shown}' would pass {budget:,} bytes")
            data = read_regular(src, name, budget - written, shown=shown)
            write_new(dest, name, data, stat.S_IMODE(st.st_mode) & 0o755 | 0o644)
            written += len(data)
            if on_file is not None:
                on_file(shown)
    return written


JSON_LIMIT = 32 << 20


def read_json(path: Path, limit: int = JSON_LIMIT):
    """A JSON file a run produced (an artifact), read by root-side code: a regular file only (no
    link, no FIFO), at most `limit` bytes, nesting within the parser's recursion limit.
    ValueError (UnsafePath, TooLarge, or not JSON) when it is not that."""
    import json

    path = Path(path)
    parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        raw = read_regular(parent, path.name, limit, shown=path.name)
    finally:
        os.close(parent)
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError as exc:
        raise ValueError(f"'{path.name}' is nested too deeply to read") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"'{path.name}' is not UTF-8 text") from exc
