"""The folders escalate writes (runs, fits, forecasts, reports, demos): staged, swapped into
place, owned and locked, so that no command ever loses or half-writes one.

The promises (docs/cli.md states them for users):

- **Whole or nothing.** A folder is built complete in a staging sibling
  (``.NAME.<pid>.<token>.tmp``) and swapped into place in one step (``renameat2`` with
  ``RENAME_EXCHANGE`` where the file system has it). Where it does not, the old folder is
  renamed aside first (``.NAME.old.<pid>.<token>.tmp``); a process killed between the two renames
  leaves the old copy there, and the next command on that folder puts it back (and says so).
- **Only our own.** An existing output folder is replaced only when asked (``--force``) and only
  when it is an escalate folder of the same kind (its ``manifest.json`` says so): never a folder
  of the user's, never a run by a report.
- **One writer at a time.** :func:`folder_lock` takes an exclusive lock per folder (a lock file
  ``.NAME.lock`` beside it holding the holder's pid and command); a second command exits with a
  message naming the holder; a lock left by a dead process is reported, not silently broken.
- **Stale staging** folders are removed only when their owner process is provably dead.

Every step of a commit passes through :func:`write_step`; the command line hooks it to stop
before any write once an interrupt has arrived, and tests hook it to inject faults.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from escalate.errors import EscalateInputError

#: The file that marks a folder as escalate's, and says what kind it is.
MANIFEST = "manifest.json"

#: Hooks called as ``hook(step, path)`` at every step of a folder commit (see module docstring).
_WRITE_HOOKS: list[Callable[[str, Path], None]] = []


def add_write_hook(hook: Callable[[str, Path], None]) -> None:
    """Register ``hook(step, path)``; steps are "commit" (about to swap a staged folder or file
    into place), "rename-old", "rename-new" (the two-rename fallback), "committed" (the new
    version is in place) and "remove-old" (clean-up after the commit)."""
    if hook not in _WRITE_HOOKS:
        _WRITE_HOOKS.append(hook)


def remove_write_hook(hook: Callable[[str, Path], None]) -> None:
    if hook in _WRITE_HOOKS:
        _WRITE_HOOKS.remove(hook)


def write_step(step: str, path) -> None:
    """Announce one step of a commit to the hooks (which may raise to stop it)."""
    for hook in list(_WRITE_HOOKS):
        hook(step, Path(path))


# ---- ownership ------------------------------------------------------------------------------
def folder_kind(path) -> str | None:
    """``"run"``, ``"report"``, ``"demo"``, ``"backtest"`` ... for an escalate folder, else None."""
    manifest = Path(path) / MANIFEST
    try:
        payload = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    if "run_format_version" in payload:
        return "run"
    kind = payload.get("kind")
    return kind if isinstance(kind, str) else None


def check_output_folder(path, kind: str, force: bool, flag: str = "--force") -> None:
    """Refuse an output folder that cannot or must not be written, before any work is done.

    A folder that exists is refused unless ``force``; with ``force`` it is replaced only when it
    is an escalate folder of the same ``kind``. A path under a file, or in a place this user
    cannot write, is refused with the reason.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise EscalateInputError(f"{path} is a file, not a folder; choose another output folder")
    if path.exists():
        found = folder_kind(path)
        if not force:
            what = f" (an escalate {found})" if found else ""
            raise EscalateInputError(f"{path} already exists{what}; choose another output folder or pass "
                                     f"{flag} to replace it")
        if found != kind:
            what = f"an escalate {found}" if found else f"not an escalate folder (no {MANIFEST} of escalate's)"
            raise EscalateInputError(f"{path} exists and is {what}; {flag} replaces only an escalate {kind}, "
                                     f"never anything else: remove it yourself or choose another output folder")
    check_writable_parent(path)


def check_writable_parent(path) -> None:
    """Refuse a path whose nearest existing ancestor is a file or is not writable."""
    path = Path(path).absolute()
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise EscalateInputError(f"{path}: {parent} is a file, so nothing can be written under it; "
                                 f"choose another output")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise EscalateInputError(f"{path}: {parent} is not writable by this user; choose another output")


# ---- processes --------------------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _owner(staging: Path, name: str) -> int | None:
    """The pid in a staging name ``.NAME[.old].<pid>.<token>.tmp`` of ``name``, else None."""
    prefix = f".{name}."
    if not staging.name.startswith(prefix):
        return None
    rest = staging.name[len(prefix):].split(".")
    if rest[:1] == ["old"]:
        rest = rest[1:]
    if len(rest) != 3 or rest[2] != "tmp" or not rest[0].isdigit():
        return None
    return int(rest[0])


def _staging_name(path: Path, old: bool = False) -> Path:
    return path.with_name(f".{path.name}.{'old.' if old else ''}{os.getpid()}.{secrets.token_hex(4)}.tmp")


def recover(path) -> list[str]:
    """Tidy ``path``'s siblings before a command writes it; returns what was done, in words.

    A folder lost between the two renames of a replacement (only its old copy left) is put back.
    Staging folders whose owner process is dead are removed; those of live processes, and any
    name escalate did not make, are left alone.
    """
    path = Path(path)
    said = []
    leftovers = sorted(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.exists() else []
    dead = [p for p in leftovers
            if (pid := _owner(p, path.name)) is not None and pid != os.getpid() and not pid_alive(pid)]
    olds = [p for p in dead if p.name.startswith(f".{path.name}.old.")]
    if not path.exists() and olds:
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        os.replace(newest, path)
        dead.remove(newest)
        said.append(f"recovered {path} from {newest.name}: an earlier command was stopped while replacing it")
    for staging in dead:
        shutil.rmtree(staging, ignore_errors=True)
        said.append(f"removed {staging.name}, left by process {_owner(staging, path.name)} which is no longer running")
    return said


# ---- the swap ---------------------------------------------------------------------------------
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where that is not available."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_into_place(staged: Path, path: Path) -> None:
    write_step("commit", path)
    if not path.exists():
        os.replace(staged, path)
        write_step("committed", path)
        return
    if _exchange(staged, path):  # one step: the old version is now under the staging name
        write_step("committed", path)  # (the caller removes the staging name, old version and all)
        write_step("remove-old", path)
        return
    old = _staging_name(path, old=True)
    write_step("rename-old", path)
    os.replace(path, old)
    try:
        write_step("rename-new", path)
        os.replace(staged, path)
    except BaseException:  # interrupted between the renames: put the old version back first
        os.replace(old, path)
        raise
    try:
        write_step("committed", path)
        write_step("remove-old", path)
    finally:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_directory(path, *, copy_existing: bool = False):
    """Yield a staging path for the folder ``path``; when the block succeeds, the staged folder
    replaces ``path`` (see the module docstring); on any exception (Ctrl-C included) it is removed
    and ``path`` is untouched. ``copy_existing`` starts the staging folder as a copy of ``path``;
    otherwise the staging path does not exist yet (the block creates it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = _staging_name(path)
    try:
        if copy_existing:
            shutil.copytree(path, staged, symlinks=True)
        yield staged
        if not staged.is_dir():
            raise FileNotFoundError(f"nothing was staged for {path}")
        _swap_into_place(staged, path)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def atomic_directory(path, write) -> None:
    """Call ``write(staging)`` to build the folder, then swap it into place at ``path``."""
    with staged_directory(path) as staged:
        write(staged)


def atomic_write_text(path, text: str) -> None:
    """Write a file whole or not at all: a staging sibling, then one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = _staging_name(path)
    try:
        staged.write_text(text)
        write_step("commit", path)
        os.replace(staged, path)
        write_step("committed", path)
    finally:
        staged.unlink(missing_ok=True)


# ---- the lock ---------------------------------------------------------------------------------
def lock_path(path) -> Path:
    """The lock file of folder ``path``: ``.NAME.lock`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextmanager
def folder_lock(path, command: str):
    """Hold the exclusive lock of folder ``path`` for the block.

    Raises :class:`~escalate.errors.EscalateInputError` naming the holder when another live
    process holds it, and reporting a stale lock (its holder is dead) with how to check and
    remove it: a stale lock is never broken silently.
    """
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"pid": os.getpid(), "command": command,
                          "since": datetime.now(UTC).isoformat(timespec="seconds")})
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise EscalateInputError(_held_message(Path(path), lock)) from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(payload)
        yield
    finally:
        try:
            if json.loads(lock.read_text()).get("pid") == os.getpid():
                lock.unlink()
        except (OSError, ValueError):
            pass


def _held_message(path: Path, lock: Path) -> str:
    try:
        holder = json.loads(lock.read_text())
        pid, command, since = int(holder["pid"]), holder.get("command", "?"), holder.get("since", "?")
    except (OSError, ValueError, KeyError, TypeError):
        return (f"{path} is locked by another escalate command ({lock} is being written); wait for it "
                f"to finish and try again")
    if pid_alive(pid):
        return (f"{path} is in use by another escalate command (pid {pid}: {command}, since {since}); "
                f"wait for it to finish and try again")
    return (f"{path} has a stale lock: {lock} was left by pid {pid} ({command}, since {since}), which is "
            f"no longer running. Check the folder (`escalate validate {path}` for a run), then remove "
            f"the lock file ({lock}) and try again")
