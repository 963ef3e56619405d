"""The Twisted idioms StarPy repeats, each written once.

- :class:`Waiters`: the Deferreds handed out by a ``when*()`` method and
  fired together when the awaited thing happens (txtorcon's
  ``SingleObserver``); each may be cancelled.
- :class:`OneShot`: an outcome that happens once; a ``when*()`` asked
  after it fires at once with the same outcome.
- :func:`notifyListener`: call an application's listener, log its failure
  (raised, or a failed Deferred it returned) with the traceback, and go on.
- :func:`defaultReactor`: the global reactor, looked up when a caller gave no
  clock or reactor; the one lookup below the command line.
- :func:`abortTransport`: drop a connection now.
- :func:`directSocket` and :func:`sendNow`: send on a plain TCP transport
  at once rather than on the reactor's next turn.
- :func:`checkSeconds`: refuse a duration that is not a finite number of
  seconds >= 0 (``None`` too, unless it means "no limit" there).
- :func:`reasonOf`: the exception a Failure carries.

The module is private: StarPy's modules import it, applications do not.
"""
from __future__ import annotations

import logging
import math
import socket
from typing import Any, Callable, Generic, List, Optional, TypeVar, Union

from twisted.internet import tcp
from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from starpy._logfailure import logFailure

__all__ = ["Waiters", "OneShot", "notifyListener", "defaultReactor", "abortTransport",
           "checkSeconds", "reasonOf"]

_T = TypeVar("_T")


class Waiters(Generic[_T]):
    """Deferreds waiting for the same thing, fired together.

    :meth:`wait` hands out a fresh Deferred; cancelling it forgets it.
    :meth:`fire` and :meth:`fail` fire every Deferred waiting at that
    moment and leave the list empty for the next round; a waiter that a
    callback of an earlier one cancelled meanwhile is skipped.
    """

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: List[Deferred[_T]] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def wait(self) -> Deferred[_T]:
        """A new Deferred, fired by the next :meth:`fire` or :meth:`fail`."""
        waiter: Deferred[_T] = Deferred(self._forget)
        self._waiting.append(waiter)
        return waiter

    def _forget(self, waiter: Deferred[_T]) -> None:
        try:
            self._waiting.remove(waiter)
        except ValueError:
            pass  # being fired: fire() skips it, as it is called already

    def fire(self, result: _T) -> None:
        """Fire every waiting Deferred with *result*."""
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if not waiter.called:
                waiter.callback(result)

    def fail(self, reason: Union[BaseException, Failure]) -> None:
        """Fail every waiting Deferred with *reason*."""
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if not waiter.called:
                waiter.errback(reason)


class OneShot(Generic[_T]):
    """An outcome that happens once: a result or a failure.

    :meth:`when` returns a fresh Deferred; before the outcome it waits (and
    may be cancelled), after it fires at once with the same outcome.
    """

    __slots__ = ("_waiters", "_outcome", "_failed", "done")

    def __init__(self) -> None:
        self._waiters: Waiters[_T] = Waiters()
        self._outcome: Any = None
        self._failed = False
        #: Whether the outcome has happened.
        self.done = False

    def when(self) -> Deferred[_T]:
        """A new Deferred for the outcome."""
        if not self.done:
            return self._waiters.wait()
        if self._failed:
            return fail(self._outcome)
        return succeed(self._outcome)

    def fire(self, result: _T) -> None:
        """The outcome is *result*; a second outcome is refused."""
        self._settle(result, False)
        self._waiters.fire(result)

    def fail(self, reason: Union[BaseException, Failure]) -> None:
        """The outcome is the failure *reason*; a second outcome is refused."""
        self._settle(reason if isinstance(reason, Failure) else Failure(reason), True)
        self._waiters.fail(reason)

    def _settle(self, outcome: Any, failed: bool) -> None:
        if self.done:
            raise RuntimeError("the outcome has happened already")
        self.done = True
        self._outcome = outcome
        self._failed = failed


def notifyListener(logger: logging.Logger, description: str,
                   listener: Callable[..., Any], *arguments: Any) -> None:
    """Call ``listener(*arguments)``; never raise.

    An exception it raises, or the failure of a Deferred it returns, is
    logged at ERROR on *logger* as ``"<description> <listener> failed"``
    with its traceback, and the caller goes on with the next listener.
    """
    try:
        result = listener(*arguments)
    except Exception:
        logger.exception("%s %r failed", description, listener)
        return
    if isinstance(result, Deferred):
        result.addErrback(_listenerFailed, logger, description, listener)


def _listenerFailed(reason: Failure, logger: logging.Logger, description: str,
                    listener: Callable[..., Any]) -> None:
    logFailure(logger, reason, "%s %r failed", description, listener)


def defaultReactor() -> Any:
    """The global reactor (installing the default one if none is yet).

    Library code calls this only when its caller passed no clock or
    reactor, and as late as possible, so that importing StarPy never
    installs a reactor.
    """
    from twisted.internet import reactor

    return reactor


def abortTransport(transport: Optional[Any]) -> None:
    """Drop *transport* now: ``abortConnection()`` where the transport has
    it (TCP, TLS), else ``loseConnection()``; nothing for ``None``."""
    if transport is None:
        return
    abort = getattr(transport, "abortConnection", None)
    if abort is not None:
        abort()
    else:
        transport.loseConnection()


#: What :func:`sendNow` reads of Twisted's TCP transport before each send:
#: whether its buffer holds bytes (``dataBuffer``, ``_tempDataLen``), TLS was
#: started, a producer is registered, or the connection is being aborted or
#: is lost.  Twisted has no public way to ask the buffer's or the abort's
#: state, hence the private names; a transport without every one of them (a
#: Twisted that renamed one) gets no direct socket at all.
_SEND_STATE = ("dataBuffer", "_tempDataLen", "TLS", "producer", "_aborting", "disconnected")


def directSocket(transport: Optional[Any]) -> Optional[socket.socket]:
    """The socket :func:`sendNow` may send on for *transport*: that of
    Twisted's own TCP transport (its ``getHandle()``, Twisted's public
    ``ISystemHandle``); ``None`` for any other transport.

    Twisted's TCP transports hold what is written until the reactor's next
    turn (twisted/twisted#5303, open): per write, two ``epoll_ctl`` calls, a
    reactor turn and a ``doWrite``.  A protocol whose writes each answer
    what it just read (AGI's one command per reply; AMI's actions sent as
    replies arrive) gains nothing by that wait."""
    if isinstance(transport, tcp.Connection) and all(
            hasattr(transport, name) for name in _SEND_STATE):
        handle: socket.socket = transport.getHandle()
        return handle
    return None


def sendNow(transport: Any, handle: socket.socket, data: bytes) -> None:
    """Write *data* on *transport*: on its socket *handle*
    (:func:`directSocket`) at once when the transport holds nothing unsent,
    has no TLS and no producer and is not being aborted; else, and for what
    the socket does not take (a full buffer, an error), with
    ``transport.write``, behind what the transport holds, which it sends on
    the reactor's turn (or reports the lost connection).

    The socket's own ``send``, not the transport's ``writeSomeData``: 3.4 K
    instructions per write against 7.9 K through ``writeSomeData`` (callgrind,
    CPython 3.11, bench/RESULTS.md, "Writing without waiting for the
    reactor").
    """
    if (transport.dataBuffer or transport._tempDataLen or transport.TLS
            or transport.producer is not None or transport._aborting
            or transport.disconnected):
        transport.write(data)
        return
    try:
        sent = handle.send(data)
    except OSError:  # EAGAIN, or a failing connection: Twisted's doWrite finds out
        sent = 0
    if sent != len(data):
        transport.write(data[sent:])


def checkSeconds(value: Any, what: str, allowNone: bool = False) -> None:
    """Refuse *value* unless it is a finite number of seconds >= 0 (or
    ``None``, with *allowNone*: no limit).

    :raises TypeError: not a number (``bool`` included).
    :raises ValueError: negative, infinite or NaN.
    """
    if value is None and allowNone:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number of seconds%s, not %r"
                        % (what, " or None" if allowNone else "", value))
    if not math.isfinite(value) or value < 0:
        raise ValueError("%s must be a finite number of seconds >= 0%s, not %r"
                         % (what, " (or None for no timeout)" if allowNone else "", value))


def reasonOf(failure: Failure) -> BaseException:
    """The exception of *failure* (one made from its message if it has none)."""
    value = failure.value
    return value if isinstance(value, BaseException) else Exception(failure.getErrorMessage())
