"""The ``__main__`` part every example shares: options, logging, one-line errors.

Not an example itself.  :func:`runExample` parses the example's options
(``--fake`` and ``-v`` for all of them), sets up logging, and runs one
coroutine under ``task.react``: the ``--fake`` one against StarPy's built-in
fake Asterisk (see ``_fake.py``), or the real one.  What goes wrong in
ordinary use (no ``starpy.conf`` username, Asterisk unreachable, a refused
login, a port already taken) ends the example with one line on stderr and
status 1, not a traceback.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Callable, Coroutine, List, Optional

from twisted.internet import defer, task
from twisted.internet import error as netError
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IListeningPort

from starpy import error

#: One of the example's two modes: ``(reactor, options)`` to a coroutine.
Mode = Callable[[Any, argparse.Namespace], Coroutine[Any, Any, None]]

#: Errors that ordinary use meets; anything else is a bug and shows its traceback.
ORDINARY_ERRORS = (error.StarpyError, netError.ConnectError, netError.CannotListenError,
                   netError.ConnectionLost)


def runExample(description: str, fake: Mode, real: Mode,
               addArguments: Optional[Callable[[argparse.ArgumentParser], None]] = None,
               argv: Optional[List[str]] = None, level: int = logging.WARNING) -> None:
    """Run the example: ``fake`` with ``--fake``, else ``real``; never returns.

    :param addArguments: adds the example's own options to the parser.
    :param level: the logging level without ``-v`` (with it: DEBUG).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--fake", action="store_true",
                        help="run against StarPy's built-in fake Asterisk (no Asterisk needed)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log everything")
    if addArguments is not None:
        addArguments(parser)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if options.verbose else level,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    mode = fake if options.fake else real
    name = os.path.basename(sys.argv[0]) or "example"

    async def main(reactor: Any) -> None:
        try:
            await mode(reactor, options)
        except ORDINARY_ERRORS as e:
            print("%s: %s" % (name, " ".join(str(e).split()) or type(e).__name__),
                  file=sys.stderr)
            raise SystemExit(1) from None

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))


async def forever() -> None:
    """Wait until the process is interrupted (Ctrl-C)."""
    await defer.Deferred()


def secretFromEnvironment(variable: str, user: str) -> str:
    """The AMI secret from environment variable *variable*, or exit with one line."""
    secret = os.environ.get(variable)
    if not secret:
        print("%s: set %s to the secret of AMI user %r (the secret is never read from the "
              "command line)" % (os.path.basename(sys.argv[0]), variable, user), file=sys.stderr)
        raise SystemExit(2)
    return secret


def portNumber(listening: IListeningPort) -> int:
    """The TCP port *listening* is bound to (the one the system picked for 0)."""
    address = listening.getHost()
    assert isinstance(address, (IPv4Address, IPv6Address))
    return address.port


async def stopListening(listening: IListeningPort) -> None:
    """Stop accepting connections on *listening* (calls in progress go on)."""
    await defer.maybeDeferred(listening.stopListening)
