"""Interrupts: SIGINT and SIGTERM become ``KeyboardInterrupt`` from the first instant.

:func:`install_interrupt_handlers` runs first thing in :func:`escalate.cli.main`, before PyMC,
ArviZ and the numba kernels are imported, so an interrupt at any moment ends the command with
status 130 (SIGINT) or 143 (SIGTERM) and a message, never a traceback or a silent kill.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from pathlib import Path

from escalate.folders import add_write_hook

#: Signals this process has received, in order (the last one decides the exit status).
RECEIVED: list[int] = []
#: Folders and files this process has put in place (what an interrupted command did write).
WRITTEN: list[Path] = []


def _handler(signum, frame):
    RECEIVED.append(signum)
    raise KeyboardInterrupt


def _on_write(step: str, path: Path) -> None:
    """Before any commit: stop if an interrupt has arrived (even one a library swallowed).
    After one: remember what was written, so that the exit message tells the truth."""
    if step == "commit" and RECEIVED:
        raise KeyboardInterrupt
    if step == "committed" and not any(part.startswith(".") and part.endswith(".tmp") for part in path.parts):
        WRITTEN.append(path)


def install_interrupt_handlers() -> None:
    """Turn SIGINT and SIGTERM into ``KeyboardInterrupt`` (and remember which came); stop
    every later write once one has come."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _handler)
    add_write_hook(_on_write)


def interrupted_message() -> str:
    """What an interrupted command wrote, in one line."""
    if WRITTEN:
        return (f"escalate: interrupted after writing {', '.join(map(str, dict.fromkeys(WRITTEN)))} "
                f"(complete); nothing else was written")
    return "escalate: interrupted; nothing was written"


def interrupt_status() -> int:
    """Exit status of an interrupted command: 143 after SIGTERM, else 130."""
    return 143 if RECEIVED and RECEIVED[-1] == signal.SIGTERM else 130


@contextmanager
def interrupt_guard():
    """A step that must not complete once interrupted.

    Re-installs the handlers (a library may have replaced them) and makes sure that a library
    which swallows the interrupt (a sampler returning a partial trace) still aborts the
    command: nothing partial is ever written.
    """
    install_interrupt_handlers()
    before = len(RECEIVED)
    try:
        yield
    except BaseException:
        if len(RECEIVED) > before:  # whatever broke after an interrupt, it was the interrupt
            raise KeyboardInterrupt from None
        raise
    if len(RECEIVED) > before:
        raise KeyboardInterrupt
