"""Classic AGI: the same handlers, run as a script Asterisk spawns with ``AGI(script)``.

Asterisk writes the environment block and the replies on the script's
stdin and reads commands from its stdout, so nothing else may be printed
there (log to stderr).  A FastAGI handler runs unchanged::

    exten => 100,n,AGI(starpy-hello.sh)

where ``starpy-hello.sh`` runs ``python -m starpy agi mymodule:hello``
(or a script calling :func:`runClassicAGI`).  The ``HANGUP`` line and the
SIGHUP Asterisk sends when the caller hangs up both mark the session hung
up; the process ends once the handler is done.
"""
from __future__ import annotations

import logging
import signal
from typing import Any, Optional, cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorCore, IReactorTime
from twisted.internet import stdio

from starpy.codec.agi import DEFAULT_MAX_ENVIRONMENT_LINES, DEFAULT_MAX_LINE_LENGTH
from starpy.agi import Handler, runHandler
from starpy.fastagi import FastAGIProtocol

__all__ = ["ClassicAGIProtocol", "runClassicAGI", "log"]

log = logging.getLogger("starpy.classicagi")


class ClassicAGIProtocol(FastAGIProtocol):
    """An AGI session over the script's stdin/stdout.

    Same API as :class:`~starpy.fastagi.FastAGIProtocol`; ``scriptPath`` is
    ``agi_request`` (the script Asterisk ran).  :meth:`finish` closes stdout,
    which ends the AGI for Asterisk.
    """

    def _environmentReceived(self, variables: dict[str, str]) -> None:
        if "agi_network_script" not in variables:
            variables = dict(variables)
            variables.setdefault("agi_network_script", "")
        FastAGIProtocol._environmentReceived(self, variables)
        if not self.scriptPath:
            self.scriptPath = variables.get("agi_request", "")

    def signalHangup(self, signum: int = signal.SIGHUP, frame: Any = None) -> None:
        """Signal handler for SIGHUP: the caller hung up."""
        log.debug("SIGHUP received")
        self.hangupReceived()


def runClassicAGI(
    mainFunction: Handler,
    reactor: Optional[IReactorCore] = None,
    stdin: int = 0,
    stdout: int = 1,
    maxLineLength: int = DEFAULT_MAX_LINE_LENGTH,
    maxEnvironmentLines: int = DEFAULT_MAX_ENVIRONMENT_LINES,
) -> int:
    """Run *mainFunction* as a classic AGI script over stdin/stdout; block until done.

    *mainFunction* is called like a FastAGI handler (see
    :func:`starpy.agi.runHandler`).  Installs a SIGHUP handler that marks
    the session hung up, runs *reactor* until the session ends, and
    returns an exit status: 0, or 1 if the handler failed.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = cast(IReactorCore, globalReactor)
    outcome: list[bool] = []

    def ready(agi: FastAGIProtocol) -> None:
        runHandler(agi, mainFunction).addCallback(outcome.append)

    agi = ClassicAGIProtocol(
        ready, cast(IReactorTime, reactor), maxLineLength, maxEnvironmentLines
    )
    standardIO: Any = stdio.StandardIO  # typed from the Windows variant
    standardIO(agi, stdin=stdin, stdout=stdout, reactor=reactor)
    previous = signal.signal(signal.SIGHUP, agi.signalHangup)

    def stop(ignored: object) -> None:
        if reactor is not None and reactor.running:
            reactor.stop()

    closed: Deferred[None] = agi.whenClosed()
    closed.addCallback(stop)
    try:
        reactor.run()
    finally:
        signal.signal(signal.SIGHUP, previous)
    return 0 if outcome in ([], [True]) else 1
