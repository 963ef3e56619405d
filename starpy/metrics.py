"""Prometheus metrics for StarPy (the optional ``metrics`` extra).

Nothing in StarPy imports this module unless asked (``starpy serve
--metrics``, ``starpy events --metrics``, or an application importing it):
without it, and without ``prometheus_client``, nothing changes.  The
instruments attach from the outside, so that what is not watched costs
nothing: a catch-all event registration counts events, the action methods
of a watched protocol are wrapped (that protocol only), a FastAGI handler is
wrapped by :meth:`StarpyMetrics.instrumentHandler`::

    from starpy import metrics

    numbers = metrics.StarpyMetrics()        # its own CollectorRegistry
    numbers.watchService(amiService, server="pbx1")   # or watchPool(pool)
    handler = numbers.instrumentHandler(handler)     # FastAGI sessions, AGI commands
    numbers.listen(reactor, "127.0.0.1", 9108)       # GET /metrics

The metrics (all prefixed ``starpy_``):

=========================================  =========  ==========================
name                                       type       labels
=========================================  =========  ==========================
``ami_server_state``                       gauge      server, state (1: current)
``ami_reconnects_total``                   counter    server
``ami_logins_failed_total``                counter    server
``ami_actions_sent_total``                 counter    server, action
``ami_actions_failed_total``               counter    server, action
``ami_actions_timed_out_total``            counter    server, action
``ami_action_latency_seconds``             histogram  action
``ami_events_received_total``              counter    server, event
``ami_handler_failures_total``             counter    event
``ami_slow_handlers_total``                counter    event
``fastagi_sessions_active``                gauge      (none)
``fastagi_sessions_total``                 counter    script
``fastagi_sessions_failed_total``          counter    script
``agi_command_latency_seconds``            histogram  command
``asyncagi_sessions_active``               gauge      server
``asyncagi_sessions_total``                counter    server
=========================================  =========  ==========================

Label values that come from the peer or the application (action, event
and script names) are bounded: past :data:`MAX_LABEL_VALUES` distinct
values of one label, further ones count as ``other``.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from twisted.internet import defer
from twisted.python.failure import Failure

from starpy import error
from starpy.agi import callHandler
from starpy.codec.agi import AGI_COMMANDS
from starpy.codec.agi import commandName as agiCommandName
from starpy.dispatch import EventDispatcher, Handle, HandlerMonitor

__all__ = ["StarpyMetrics", "MAX_LABEL_VALUES", "AGI_COMMANDS", "agiCommandName", "log"]

log = logging.getLogger("starpy.metrics")

MAX_LABEL_VALUES = 256
"""Distinct values kept per peer-chosen label; more count as ``other``."""

_STATES = ("connecting", "booting", "loggedIn", "down", "stopped")


class _Bounded:
    """Label values as given until *limit* distinct ones, then ``other``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: Dict[str, str] = {}

    def __call__(self, value: str) -> str:
        known = self.seen.get(value)
        if known is not None:
            return known
        if len(self.seen) >= self.limit:
            return "other"
        self.seen[value] = value
        return value


def _undoAll(undo: List[Callable[[], Any]]) -> Handle:
    """One :class:`Handle <starpy.dispatch.Handle>` undoing *undo*'s steps, last first."""
    return Handle(lambda: [step() for step in reversed(undo)])


class StarpyMetrics:
    """StarPy's Prometheus metrics in one registry (see the module).

    :param registry: where the metrics are registered (default: a new
        ``CollectorRegistry``, so that several instances and tests never
        collide; pass ``prometheus_client.REGISTRY`` to share the global one).
    :param timer: the clock of latencies, seconds (``time.perf_counter``).
    :param slowHandlerThreshold: an event handler running longer than this
        (seconds) counts as slow and is logged (see
        :class:`HandlerMonitor <starpy.dispatch.HandlerMonitor>`); ``None``: handlers are not
        timed.
    """

    def __init__(self, registry: Optional[CollectorRegistry] = None,
                 timer: Callable[[], float] = time.perf_counter,
                 slowHandlerThreshold: Optional[float] = 0.1) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.timer = timer
        r = self.registry
        self.serverState = Gauge("starpy_ami_server_state", "AMI server state (1: current)",
                                 ["server", "state"], registry=r)
        self.reconnects = Counter("starpy_ami_reconnects", "AMI logins after the first",
                                  ["server"], registry=r)
        self.loginsFailed = Counter("starpy_ami_logins_failed", "AMI logins that failed",
                                    ["server"], registry=r)
        self.actionsSent = Counter("starpy_ami_actions_sent", "AMI actions sent",
                                   ["server", "action"], registry=r)
        self.actionsFailed = Counter("starpy_ami_actions_failed",
                                     "AMI actions that failed (error response, lost)",
                                     ["server", "action"], registry=r)
        self.actionsTimedOut = Counter("starpy_ami_actions_timed_out", "AMI actions timed out",
                                       ["server", "action"], registry=r)
        self.actionLatency = Histogram("starpy_ami_action_latency_seconds",
                                       "AMI action round trip", ["action"], registry=r)
        self.eventsReceived = Counter("starpy_ami_events_received", "AMI events received",
                                      ["server", "event"], registry=r)
        self.handlerFailures = Counter("starpy_ami_handler_failures",
                                       "AMI event handlers that raised or failed",
                                       ["event"], registry=r)
        self.slowHandlers = Counter("starpy_ami_slow_handlers",
                                    "AMI event handlers slower than the threshold",
                                    ["event"], registry=r)
        self.fastagiActive = Gauge("starpy_fastagi_sessions_active", "FastAGI sessions open",
                                   registry=r)
        self.fastagiSessions = Counter("starpy_fastagi_sessions", "FastAGI sessions",
                                       ["script"], registry=r)
        self.fastagiFailed = Counter("starpy_fastagi_sessions_failed",
                                     "FastAGI sessions whose handler failed", ["script"],
                                     registry=r)
        self.agiLatency = Histogram("starpy_agi_command_latency_seconds",
                                    "AGI command round trip", ["command"], registry=r)
        self.asyncagiActive = Gauge("starpy_asyncagi_sessions_active", "AsyncAGI sessions open",
                                    ["server"], registry=r)
        self.asyncagiSessions = Counter("starpy_asyncagi_sessions", "AsyncAGI sessions",
                                        ["server"], registry=r)
        self._actionLabel = _Bounded(MAX_LABEL_VALUES)
        self._eventLabel = _Bounded(MAX_LABEL_VALUES)
        self._scriptLabel = _Bounded(MAX_LABEL_VALUES)
        self.monitor: Optional[HandlerMonitor] = None
        if slowHandlerThreshold is not None:
            self.monitor = HandlerMonitor(threshold=slowHandlerThreshold, timer=timer)
            self.monitor.onSlow(lambda name, handler, seconds: self.slowHandlers.labels(
                self._eventLabel(name)).inc())
            self.monitor.onFailure(lambda name, handler: self.handlerFailures.labels(
                self._eventLabel(name)).inc())

    # -- AMI ---------------------------------------------------------------

    def _monitor(self, dispatcher: EventDispatcher, undo: List[Callable[[], Any]]) -> None:
        if self.monitor is not None and dispatcher.monitor is None:
            self.monitor.attach(dispatcher)
            undo.append(lambda: self.monitor.detach(dispatcher) if self.monitor else None)

    def _countEvents(self, server: Optional[str]) -> Callable[[Any, Any], None]:
        def count(ami: Any, event: Any) -> None:
            name = server if server is not None else (getattr(ami, "serverName", None) or "")
            self.eventsReceived.labels(name, self._eventLabel(event.get("event", ""))).inc()

        return count

    def instrumentProtocol(self, ami: Any, server: str = "") -> Handle:
        """Count and time the actions *ami* (an
        :class:`AMIProtocol <starpy.manager.AMIProtocol>`) sends from now on: its
        ``sendAction`` (which every named action uses) is wrapped on this
        instance only.  Returns a handle whose ``cancel()`` unwraps it."""
        original = ami.sendAction

        def sendAction(action: str, headers: Any = None, *args: Any, **kwargs: Any) -> Any:
            label = self._actionLabel(action)
            self.actionsSent.labels(server, label).inc()
            started = self.timer()
            d = original(action, headers, *args, **kwargs)

            def done(result: Any) -> Any:
                self.actionLatency.labels(label).observe(self.timer() - started)
                if isinstance(result, Failure):
                    if result.check(error.AMITimeout):
                        self.actionsTimedOut.labels(server, label).inc()
                    else:
                        self.actionsFailed.labels(server, label).inc()
                return result

            if isinstance(d, defer.Deferred):
                d.addBoth(done)
            return d

        ami.sendAction = sendAction

        def undo() -> None:
            if ami.__dict__.get("sendAction") is sendAction:
                del ami.sendAction

        return _undoAll([undo])

    def watchProtocol(self, ami: Any, server: str = "") -> Handle:
        """Count *ami*'s events and actions (one connection, e.g. the one of
        ``starpy events``).  Returns a handle whose ``cancel()`` stops."""
        undo: List[Callable[[], Any]] = []
        undo.append(ami.registerEvent(None, self._countEvents(server)).cancel)
        undo.append(self.instrumentProtocol(ami, server).cancel)
        self._monitor(ami.dispatcher, undo)
        return _undoAll(undo)

    def watchService(self, service: Any, server: str = "",
                     events: bool = True) -> Handle:
        """Count an :class:`AMIService <starpy.manager.AMIService>`'s logins (failed,
        and the reconnections after the first), the actions of each of its
        connections and, with *events*, its events and the failures and
        slowness of the handlers registered on it."""
        undo: List[Callable[[], Any]] = []
        logins = [0]
        current: List[Handle] = []  # the instrumentation of the current connection

        def onLogin(ami: Any) -> None:
            logins[0] += 1
            if logins[0] > 1:
                self.reconnects.labels(server).inc()
            for handle in current:
                handle.cancel()
            current[:] = [self.instrumentProtocol(ami, server)]

        def unwrap() -> None:
            for handle in current:
                handle.cancel()
            del current[:]

        undo.append(unwrap)
        undo.append(service.onLogin(onLogin))
        undo.append(service.onLoginFailed(
            lambda ami, failure: self.loginsFailed.labels(server).inc()))
        if events:
            undo.append(service.registerEvent(None, self._countEvents(server)).cancel)
            self._monitor(service.dispatcher, undo)
        return _undoAll(undo)

    def watchPool(self, pool: Any) -> Handle:
        """Watch every server of an :class:`AMIPool <starpy.pool.AMIPool>`, also those
        added later: its state (``ami_server_state``), logins, actions and
        events, and the handlers registered on the pool."""
        undo: List[Callable[[], Any]] = []
        watched: Dict[str, Handle] = {}

        def watch(name: str) -> None:
            if name not in watched:
                watched[name] = self.watchService(pool.server(name).amiService, name,
                                                  events=False)

        def onState(status: Any, previous: str) -> None:
            if status.name in pool.servers():
                watch(status.name)
            for state in _STATES:
                self.serverState.labels(status.name, state).set(
                    1 if state == status.state else 0)

        for name in pool.servers():
            watch(name)
            onState(pool.status(name), "")
        undo.append(pool.onStateChange(onState).cancel)
        undo.append(pool.registerEvent(None, self._countEvents(None)).cancel)
        self._monitor(pool.dispatcher, undo)
        def unwatch() -> None:
            for handle in watched.values():
                handle.cancel()

        undo.append(unwatch)
        return _undoAll(undo)

    def watchAsyncAGI(self, source: Any, server: str = "") -> Handle:
        """Count AsyncAGI sessions from the ``AsyncAGIStart``/``AsyncAGIEnd``
        events of *source* (a protocol, an ``AMIService`` or an ``AMIPool``,
        which labels them with each server's name)."""
        def label(ami: Any) -> str:
            return server or getattr(ami, "serverName", None) or ""

        def started(ami: Any, event: Any) -> None:
            self.asyncagiSessions.labels(label(ami)).inc()
            self.asyncagiActive.labels(label(ami)).inc()

        def ended(ami: Any, event: Any) -> None:
            self.asyncagiActive.labels(label(ami)).dec()

        handles = [source.registerEvent("AsyncAGIStart", started),
                   source.registerEvent("AsyncAGIEnd", ended)]
        return _undoAll([handle.cancel for handle in handles])

    # -- FastAGI -----------------------------------------------------------

    def instrumentHandler(self, handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """*handler* (a FastAGI main function) counting its sessions (by
        ``agi_network_script``), the ones that failed, the ones open, and
        timing each AGI command of the session."""

        def instrumented(agi: Any) -> Any:
            script = self._scriptLabel(agi.variables.get("agi_network_script", ""))
            self.fastagiSessions.labels(script).inc()
            self.fastagiActive.inc()
            agi.whenClosed().addCallback(lambda ignored: self.fastagiActive.dec())
            self._timeCommands(agi)

            def failed(reason: Failure) -> Failure:
                self.fastagiFailed.labels(script).inc()
                return reason

            return callHandler(handler, agi).addErrback(failed)

        instrumented.__name__ = getattr(handler, "__name__", "handler")
        instrumented.__doc__ = getattr(handler, "__doc__", None)
        return instrumented

    def _timeCommands(self, agi: Any) -> None:
        original = agi.sendCommandLine

        def sendCommandLine(line: str) -> Any:
            started = self.timer()
            d = original(line)

            def done(result: Any) -> Any:
                self.agiLatency.labels(agiCommandName(line)).observe(self.timer() - started)
                return result

            return d.addBoth(done)

        agi.sendCommandLine = sendCommandLine

    # -- exposition --------------------------------------------------------

    def resource(self) -> Any:
        """A ``twisted.web`` resource serving the metrics (text format)."""
        from prometheus_client.twisted import MetricsResource

        return MetricsResource(registry=self.registry)  # type: ignore[no-untyped-call]

    def listen(self, reactor: Any, interface: str = "127.0.0.1",
               port: int = 9108) -> Any:
        """Serve the metrics over HTTP on *interface* and *port* (``/metrics``,
        and ``/``) with Twisted's web server; returns the listening port.

        :raises twisted.internet.error.CannotListenError: the port is taken.
        """
        from twisted.web.resource import Resource
        from twisted.web.server import Site

        root = Resource()  # type: ignore[no-untyped-call]
        metricsResource = self.resource()
        root.putChild(b"metrics", metricsResource)
        root.putChild(b"", metricsResource)
        site = Site(root)  # type: ignore[no-untyped-call]
        site.displayTracebacks = False
        return reactor.listenTCP(port, site, interface=interface)


def parseAddress(text: str) -> Tuple[str, int]:
    """``'127.0.0.1:9108'`` (or ``'[::1]:9108'``) as ``(host, port)``.

    :raises ValueError: not HOST:PORT with a port from 0 to 65535.
    """
    host, colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("%r is not HOST:PORT (e.g. 127.0.0.1:9108)" % (text,))
    return host, int(port)
