"""The ``escalate`` command line (see ``docs/cli.md``).

User mistakes (:class:`~escalate.errors.EscalateInputError`) exit with status 2 and one clear
message; ``--debug`` shows the traceback. Internal errors exit 1. Ctrl-C exits 130 (SIGTERM
143) and leaves no partial run directory.

This module is light on purpose: :func:`main` installs the interrupt handlers and parses the
arguments before anything numerical is imported, so an interrupt in the first seconds of a
command (while PyMC, ArviZ and the numba kernels load) is handled like any other.
"""

from __future__ import annotations

import sys

from escalate.cli.parser import build_parser
from escalate.cli.signals import (
    install_interrupt_handlers,
    interrupt_status,
    interrupted_message,
)
from escalate.errors import EscalateInputError
from escalate.inference.quiet import quiet_sampling

__all__ = ["main"]


def main(argv=None) -> int:
    """Run one command; returns the exit status (0 ok, 1 internal error, 2 user mistake,
    130/143 interrupted)."""
    install_interrupt_handlers()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # argparse has printed the usage line and the reason
            return int(exc.code or 0)
        # Deferred on purpose: the commands load PyMC, ArviZ and the compiled kernels (several
        # seconds); the handlers above must be in place before that starts.
        from escalate.cli.commands import run_command

        quiet = getattr(args, "quiet", False) or getattr(args, "json", False) or not sys.stderr.isatty()
        with quiet_sampling(quiet):  # no sampler announcements from --quiet, --json or scripts
            return run_command(args)
    except EscalateInputError as exc:
        if debug:
            raise
        print(f"escalate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted_message(), file=sys.stderr)
        return interrupt_status()
    except Exception as exc:  # an internal error: say so, keep the traceback for --debug
        if debug:
            raise
        print(f"escalate: internal error ({type(exc).__name__}: {exc}); rerun with --debug for the "
              f"traceback and report it", file=sys.stderr)
        return 1
