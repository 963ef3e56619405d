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
    _addDemoCommand(commands)
    _addAGICommand(commands)
    return parser


def _addDemoCommand(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    demo = commands.add_parser(
        "demo",
        help="run StarPy against the built-in fake Asterisk (no Asterisk needed)",
        description="Log into the built-in fake Asterisk's AMI, send actions, print events, "
        "then serve FastAGI calls that the fake Asterisk places.",
    )
    demo.add_argument("--calls", type=int, default=2, help="FastAGI calls to place (default 2)")
    demo.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    demo.set_defaults(run=_runDemo)


def _runDemo(args: argparse.Namespace) -> int:
    import logging

    from twisted.internet import defer, task

    from starpy.demo import runDemo

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if args.calls < 0:
        print("starpy demo: --calls must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    status: list[int] = []

    async def run(reactor: object) -> None:
        status.append(await runDemo(reactor, sys.stdout, calls=args.calls))

    try:
        task.react(lambda reactor: defer.ensureDeferred(run(reactor)))
    except SystemExit as exit:
        if exit.code:
            return int(exit.code) if isinstance(exit.code, int) else EXIT_FAILURE
    return status[0] if status else EXIT_FAILURE


def _addAGICommand(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    agi = commands.add_parser(
        "agi",
        help="run a handler as a classic AGI script (stdin/stdout)",
        description="Run HANDLER as a classic AGI script: Asterisk's AGI(script) talks to it "
        "on stdin/stdout.  Logs go to stderr.",
    )
    agi.add_argument("handler", metavar="HANDLER", help="module:function, called with the session")
    agi.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    agi.set_defaults(run=_runAGI)


def _runAGI(args: argparse.Namespace) -> int:
    import importlib
    import logging

    from twisted.internet import reactor

    from starpy.classicagi import runClassicAGI

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    moduleName, _, functionName = args.handler.partition(":")
    if not moduleName or not functionName:
        print("starpy agi: HANDLER must be module:function", file=sys.stderr)
        return EXIT_USAGE
    try:
        handler = getattr(importlib.import_module(moduleName), functionName)
    except (ImportError, AttributeError) as e:
        print("starpy agi: cannot load %s: %s" % (args.handler, e), file=sys.stderr)
        return EXIT_USAGE
    return runClassicAGI(handler, reactor)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``starpy`` command with *argv* (default ``sys.argv[1:]``)."""
    parser = _buildParser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    run: Command = args.run
    return run(args)
