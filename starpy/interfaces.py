"""The seams between StarPy's AMI side and what is built on it.

Trackers, dispatchers and applications need "something that delivers AMI
events", and sometimes "a connection that sends actions" or "a session that
logs in again after each reconnection".  They type against these interfaces
(as txtorcon's ``ITorControlProtocol``) and ask ``providedBy``, never
``hasattr``:

- :class:`IAMIEventSource`: :class:`AMIProtocol <starpy.manager.AMIProtocol>`,
  :class:`AMIService <starpy.manager.AMIService>` (across reconnections) and
  :class:`AMIPool <starpy.pool.AMIPool>` (every server's events).
- :class:`IAMIConnection`: one logged-in
  :class:`AMIProtocol <starpy.manager.AMIProtocol>`.
- :class:`IAMISession`: an :class:`AMIService <starpy.manager.AMIService>`.
"""
from __future__ import annotations

from typing import Any, Optional

from twisted.internet.interfaces import IReactorTime
from zope.interface import Attribute, Interface

__all__ = ["IAMIEventSource", "IAMIConnection", "IAMISession", "currentConnection", "clockOf"]


class IAMIEventSource(Interface):
    """Delivers AMI events to registered handlers."""

    def registerEvent(event: Any, function: Any) -> Any:
        """Call ``function(protocol, event)`` for each event named *event*
        (a name, names, a glob, or ``None`` for all); returns a registration
        with ``cancel()``."""

    def deregisterEvent(event: Any, function: Any = None) -> int:
        """Remove registrations of *function* (every function if ``None``)
        for *event*; returns how many were removed."""


class IAMIConnection(IAMIEventSource):
    """One AMI connection: sends actions, and ends."""

    clock = Attribute("The IReactorTime the connection's timeouts run on.")

    def sendAction(action: str, headers: Any = None, timeout: Any = None,
                   expectEvent: Optional[str] = None) -> Any:
        """Send an action; a Deferred firing with the response (or the
        collected list)."""

    def whenClosed() -> Any:
        """A new Deferred firing when the connection is closed."""


class IAMISession(IAMIEventSource):
    """An AMI connection kept up: it reconnects and logs in again."""

    protocol = Attribute("The current logged-in IAMIConnection, or None.")
    clock = Attribute("The IReactorTime the session runs on.")

    def onLogin(observer: Any) -> Any:
        """Call ``observer(connection)`` after each (re)login; returns a
        handle with ``cancel()``."""

    def whenLoggedIn() -> Any:
        """A Deferred firing with the current or next logged-in connection."""


def currentConnection(source: Any) -> Optional[Any]:
    """The :class:`IAMIConnection` to send actions on: *source* itself, the
    current protocol of an :class:`IAMISession`, or ``None``."""
    if IAMIConnection.providedBy(source):
        return source
    if IAMISession.providedBy(source):
        connection: Optional[Any] = source.protocol
        return connection
    return None


def clockOf(source: Any) -> Optional[IReactorTime]:
    """The clock of a connection or session, or ``None`` for anything else."""
    if IAMIConnection.providedBy(source) or IAMISession.providedBy(source):
        clock: IReactorTime = source.clock
        return clock
    return None
