"""Classic AGI: the same handlers, run as a script Asterisk spawns with ``AGI(script)``.

Asterisk writes the environment block and the replies on the script's
stdin and reads commands from its stdout, so nothing else may be printed
there (log to stderr).  A FastAGI handler runs unchanged::

    exten => 100,n,AGI(starpy-hello.sh)

where ``starpy-hello.sh`` runs ``python -m starpy agi mymodule:hello``
(or a script calling :func:`runClassicAGI`).  The ``HANGUP`` line and the
SIGHUP Asterisk sends when the caller hangs up both mark the session hung
up; the process ends once the handler is done.  Run without Asterisk (stdin
empty, or not an AGI environment), the script says so in one line on stderr
and exits with status 2, the handler never called.
"""
from __future__ import annotations

import logging
import signal
import sys
from typing import Any, Optional, TextIO, cast

from twisted.internet import stdio
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorCore, IReactorTime

from starpy import error
from starpy._idioms import defaultReactor
from starpy.agi import Handler, runHandler
from starpy.codec.agi import DEFAULT_MAX_ENVIRONMENT_LINES, DEFAULT_MAX_LINE_LENGTH
from starpy.fastagi import FastAGIProtocol

__all__ = ["ClassicAGIProtocol", "runClassicAGI", "EXIT_NO_ENVIRONMENT", "log"]

#: The exit status of a script that got no AGI environment on stdin.
EXIT_NO_ENVIRONMENT = 2

log = logging.getLogger("starpy.classicagi")


class ClassicAGIProtocol(FastAGIProtocol):
    """An AGI session over the script's stdin/stdout.

    Same API as :class:`FastAGIProtocol <starpy.fastagi.FastAGIProtocol>`; ``scriptPath`` is
    ``agi_request`` (the script Asterisk ran).
    :meth:`finish <starpy.fastagi.FastAGIProtocol.finish>` closes stdout, which ends the AGI
    for Asterisk.

    :ivar bytesReceived: how many bytes came on stdin.
    :ivar refusal: why the input was not an AGI environment, or ``None``.
    """

    bytesReceived = 0
    refusal: Optional[str] = None
    closedBeforeReply = "Asterisk closed the script's stdin before the reply"

    def dataReceived(self, data: bytes) -> None:
        """Count the bytes, then read them as FastAGI does."""
        self.bytesReceived += len(data)
        FastAGIProtocol.dataReceived(self, data)

    def protocolError(self, reason: error.AGIProtocolError) -> None:
        """As FastAGI's once the environment is read; before it, the input
        is not AGI at all: :func:`runClassicAGI` says so in its one line on
        stderr."""
        if self.environmentSeen:
            FastAGIProtocol.protocolError(self, reason)
            return
        log.debug("not an AGI environment: %s", reason)
        self.dropConnection(reason)

    def dropConnection(self, reason: Exception) -> None:
        """As FastAGI's; before the environment, *reason* becomes :attr:`refusal`."""
        if not self.environmentSeen and self.refusal is None:
            self.refusal = str(reason)
        FastAGIProtocol.dropConnection(self, reason)

    def noEnvironmentReason(self) -> str:
        """Why no AGI environment arrived, in one line (for stderr)."""
        if self.refusal is not None:
            return "stdin is not an AGI environment (%s)" % (self.refusal,)
        if not self.bytesReceived:
            return "stdin is empty: no AGI environment"
        return "stdin ended before the AGI environment was complete"

    def environmentReceived(self, variables: dict[str, str]) -> None:
        """As FastAGI's; a block without any ``agi_*`` variable is refused."""
        if not any(key.startswith("agi_") for key in variables):
            self.dropConnection(
                error.AGIProtocolError("no agi_* variable in the environment block"))
            return
        if "agi_network_script" not in variables:
            variables = dict(variables)
            variables.setdefault("agi_network_script", "")
        FastAGIProtocol.environmentReceived(self, variables)
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
    stderr: Optional[TextIO] = None,
) -> int:
    """Run *mainFunction* as a classic AGI script over stdin/stdout; block until done.

    *mainFunction* is called like a FastAGI handler (see
    :func:`starpy.agi.runHandler`).  Installs a SIGHUP handler that marks
    the session hung up, runs *reactor* until the session ends, and
    returns an exit status: 0, or 1 if the handler failed, or
    :data:`EXIT_NO_ENVIRONMENT` (2) if stdin held no AGI environment (empty,
    or something else): then the handler never ran, and one line saying
    why is written to *stderr* (``sys.stderr`` if ``None``).
    """
    if reactor is None:
        reactor = cast(IReactorCore, defaultReactor())
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
    if not agi.environmentSeen:
        print("starpy agi: %s; the handler did not run (is this script run by "
              "Asterisk's AGI()?)" % (agi.noEnvironmentReason(),),
              file=sys.stderr if stderr is None else stderr)
        return EXIT_NO_ENVIRONMENT
    return 0 if outcome in ([], [True]) else 1
