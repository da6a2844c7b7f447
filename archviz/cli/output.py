"""Every file archviz writes goes through here: all or nothing, never outside its folder.

- A regular file (or a new one) is written to a temporary file beside it and renamed over it only
  once everything is written; on any error (a full disk, a file-size limit, Ctrl-C) the temporary
  file is removed and the old file is untouched.
- A symlink keeps being a symlink: its target is written, the same way.
- A character device (``/dev/null``, ``/dev/stdout``, a terminal) or a FIFO is written through, in
  place, never replaced (renaming over ``/dev/null`` as root would make it a regular file). A FIFO
  nobody reads is refused at once (opened non-blocking) rather than waited on forever; a write
  error (``/dev/full``) is reported.
- A folder, a block device or a socket is refused.
- A multi-file output (the report folder) is written to a staging folder beside it and moved into
  place file by file at the end; on any error the files already moved are put back and the
  staging folder is removed.
- A file name made from a spec's name or a spec argument is a slug (:func:`safe_file_name`) and
  stays inside its folder (:func:`inside`).

Write errors are :class:`~archviz.errors.OutputError` (exit 2) naming the path and the reason.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from archviz.errors import OutputError

MAX_NAME_BYTES = 200  # file systems allow 255; the suffix (-graph.svg, .html) needs the rest
_UNSAFE_RUN = re.compile(r"[^\w.\-]+")

_HINTS = {
    errno.ENOSPC: "free some space on that device, or write somewhere else",
    errno.EDQUOT: "free some space within your quota, or write somewhere else",
    errno.EFBIG: "a file-size limit (ulimit -f) or the file system's maximum stops the file; raise it "
                 "or write somewhere else",
    errno.EACCES: "write where you have permission, or change the folder's permissions",
    errno.EPERM: "write where you have permission, or change the folder's permissions",
    errno.EROFS: "the file system is read-only; write somewhere else",
    errno.EPIPE: "the program reading it stopped; write to a regular file instead",
}


def _error(path: Path | str, exc: OSError, fifo: bool = False) -> OutputError:
    if fifo and exc.errno == errno.ENXIO:
        return OutputError(f"cannot write {path}: nothing is reading this FIFO",
                           hint="start the program that reads the FIFO first, or write to a regular file")
    return OutputError(f"cannot write {path}: {exc.strerror or exc}", hint=_HINTS.get(exc.errno or 0))


def safe_file_name(text: str, what: str = "name") -> str:
    """A file name made from ``text`` (a network's name, a spec argument): letters, digits and
    ``. _ -`` kept, every other run (``/``, ``\\``, spaces, ``:``) one ``-``, no leading or trailing
    dot or dash, at most 200 bytes. ``text`` that leaves nothing is an error.

    >>> safe_file_name("vgg16-bn"), safe_file_name("../../../../tmp/x"), safe_file_name("My net: v2")
    ('vgg16-bn', 'tmp-x', 'My-net-v2')
    """
    slug = _UNSAFE_RUN.sub("-", text).strip(".-")
    slug = re.sub(r"\.{2,}", ".", slug)
    if not slug:
        raise OutputError(f"cannot make a file name of the {what}. Received: {text!r}",
                          hint="use letters, digits, '.', '_' or '-' in it")
    if len(slug.encode("utf-8")) > MAX_NAME_BYTES:
        raise OutputError(f"the {what} is too long for a file name ({len(slug.encode('utf-8'))} bytes, at most "
                          f"{MAX_NAME_BYTES}). Received: {text!r}", hint="give it a shorter name")
    return slug


def spec_file_name(spec: str) -> str:
    """The slug for a spec argument: a built-in name as it is, a path by its file name without
    ``.yaml`` (``../../x.yaml`` -> ``x``)."""
    name = spec.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return safe_file_name(name, "spec")


def inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, checked to stay inside ``folder`` once symlinks are resolved."""
    base = Path(os.path.realpath(folder))
    target = Path(os.path.realpath(base / relative))
    if Path(relative).is_absolute() or not target.is_relative_to(base) or target == base:
        raise OutputError(f"refusing to write {relative!r}: it is not inside {folder}",
                          hint="file names made from a spec stay inside --out")
    return base / relative


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)  # follows symlinks: a link is judged by what it points at
    except FileNotFoundError:
        return None
    except OSError as exc:  # a symlink loop, a name too long, a folder without permission
        raise _error(path, exc) from None


class _Pending:
    """One output being written: ``stream`` goes to a temporary file beside the real target
    (renamed into place by :meth:`commit`), or straight to a device or FIFO."""

    def __init__(self, path: Path) -> None:
        self.shown = path
        if str(path) == ".":  # also what an empty --out '' becomes
            raise OutputError("cannot write to '' or '.': a file name is needed", hint="e.g. --out network.svg")
        info = _stat(path)
        self.target = Path(os.path.realpath(path))
        self.temporary: str | None = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise OutputError(f"cannot write {path}: it is a folder", hint="give a file name inside it")
        if info is not None and (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
            self.stream: IO[bytes] = self._open_in_place(info)
            return
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise OutputError(f"cannot write {path}: it is not a regular file, a character device or a FIFO",
                              hint="write to a regular file")
        folder = self.target.parent
        if not folder.is_dir():
            raise OutputError(f"cannot write {path}: folder {path.parent} does not exist",
                              hint="create the folder first")
        import tempfile  # only when writing a file: it costs a few milliseconds to import

        try:
            handle, self.temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.target.name[:100]}.",
                                                      suffix=".tmp")
        except OSError as exc:
            raise _error(path, exc) from None
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
        try:
            os.fchmod(handle, mode)  # mkstemp makes 0600 files; a report should be readable
        except OSError:
            pass
        self.stream = os.fdopen(handle, "wb")

    def _open_in_place(self, info: os.stat_result) -> IO[bytes]:
        flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
        fifo = stat.S_ISFIFO(info.st_mode)
        try:
            # A FIFO opened without O_NONBLOCK waits for a reader forever; with it, no reader is ENXIO.
            # the path as given: /dev/stdout resolves to a name like "pipe:[123]" that cannot be opened
            handle = os.open(self.shown, flags | (os.O_NONBLOCK if fifo else 0))
            if fifo:
                os.set_blocking(handle, True)  # a slow reader is waited for, as by any writer
        except OSError as exc:
            raise _error(self.shown, exc, fifo) from None
        return os.fdopen(handle, "wb")

    def commit(self) -> None:
        """Finish: flush and close; rename the temporary file over the target."""
        try:
            self.stream.close()
            if self.temporary is not None:
                os.replace(self.temporary, self.target)
                self.temporary = None
        except OSError as exc:
            self.discard()
            raise _error(self.shown, exc) from None

    def discard(self) -> None:
        """Give up: close, remove the temporary file (the target is untouched)."""
        try:
            self.stream.close()
        except OSError:
            pass
        if self.temporary is not None:
            try:
                os.unlink(self.temporary)
            except OSError:
                pass
            self.temporary = None


@contextmanager
def open_output(path: Path) -> Iterator[IO[bytes]]:
    """A binary stream to ``path``, committed when the block ends without an error."""
    pending = _Pending(path)
    try:
        yield pending.stream
    except OSError as exc:
        pending.discard()
        raise _error(path, exc) from None
    except BaseException:
        pending.discard()
        raise
    pending.commit()


def write_output(path: Path, data: str | bytes) -> None:
    """Write all or nothing (see the module's docstring)."""
    with open_output(path) as stream:
        stream.write(data.encode("utf-8") if isinstance(data, str) else data)


def write_tree(folder: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (relative path -> content) under ``folder``, all or nothing.

    Every file is first written to a staging folder beside ``folder``; then each is renamed into
    place (the old file, if any, set aside); on any error the files moved so far are put back, the
    folders made are removed, and so is the staging folder.
    """
    import shutil
    import tempfile

    info = _stat(folder)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise OutputError(f"cannot write a folder at {folder}: a file of that name exists",
                          hint="give a folder name as --out")
    real = Path(os.path.realpath(folder))
    targets = {relative: inside(real, relative) for relative in files}
    made: list[Path] = []
    try:
        missing = [p for p in (real, *real.parents) if not p.exists()]
        for parent in reversed(missing[1:]):  # the folders above --out that are missing
            parent.mkdir()
            made.append(parent)
        staging = Path(tempfile.mkdtemp(dir=real.parent, prefix=f".{real.name[:100]}.", suffix=".staging"))
    except OSError as exc:
        _remove_folders(made)
        raise _error(folder, exc) from None
    moved: list[tuple[Path, Path | None]] = []
    try:
        mode = 0o666 & ~_umask()
        (staging / "new").mkdir()
        for relative, content in files.items():
            staged = staging / "new" / relative
            staged.parent.mkdir(parents=True, exist_ok=True)
            with open(staged, "wb") as stream:
                stream.write(content)
            os.chmod(staged, mode)
        if not real.exists():
            os.chmod(staging / "new", 0o777 & ~_umask())
            os.rename(staging / "new", real)  # the whole folder at once
            return [folder / relative for relative in files]
        for relative, target in targets.items():
            existing = _lstat(target)
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                raise OutputError(f"cannot write {folder / relative}: something other than a regular file is there",
                                  hint="remove it, or choose another --out")
        for relative, target in targets.items():
            for parent in reversed([p for p in target.parents if p != real and p.is_relative_to(real)]):
                if not parent.exists():
                    parent.mkdir()
                    made.append(parent)
            backup: Path | None = None
            if target.exists():
                backup = staging / "old" / relative
                backup.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, backup)
            moved.append((target, backup))
            os.replace(staging / "new" / relative, target)
        return [folder / relative for relative in files]
    except BaseException as exc:
        _put_back(moved)
        _remove_folders(made)
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _error(folder, exc) from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _put_back(moved: list[tuple[Path, Path | None]]) -> None:
    for target, backup in reversed(moved):
        try:
            if backup is not None:
                os.replace(backup, target)
            elif target.exists():
                target.unlink()
        except OSError:
            pass


def _remove_folders(made: list[Path]) -> None:
    import shutil

    for folder in reversed(made):
        shutil.rmtree(folder, ignore_errors=True)
