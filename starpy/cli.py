"""The ``starpy`` command (also ``python -m starpy``).

Each sub-command is a function taking the parsed arguments and returning an
exit status; :data:`EXIT_CODES` lists the distinct statuses used.  This is the
only module that configures logging or touches the global reactor.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional, Sequence

__all__ = ["main", "EXIT_OK", "EXIT_USAGE", "EXIT_FAILURE"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

Command = Callable[[argparse.Namespace], int]


def _buildParser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="starpy", description="Drive Asterisk from Twisted: AMI, FastAGI, AsyncAGI."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    # Sub-commands register themselves here, one function per module, e.g.
    #   _addAGICommand(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``starpy`` command with *argv* (default ``sys.argv[1:]``)."""
    parser = _buildParser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    run: Command = args.run
    return run(args)
