"""Configuration-file-driven AMI and FastAGI, and routing of calls to handlers.

StarPy's application framework::

    from twisted.internet import reactor
    from starpy import utilapplication

    APPLICATION = utilapplication.UtilApplication()     # reads starpy.conf
    APPLICATION.handleCallsFor('s', onS)                 # extension s -> onS(agi)
    APPLICATION.agiSpecifier.run(APPLICATION.dispatchIncomingCall)
    APPLICATION.amiSpecifier.login().addCallback(onAMIConnect)
    reactor.run()

:class:`UtilApplication` reads ``starpy.conf`` (see :mod:`starpy.appconfig`
for which files and every key).  Its :attr:`amiSpecifier <UtilApplication.amiSpecifier>`
logs into the configured AMI; its :attr:`agiSpecifier <UtilApplication.agiSpecifier>`
starts the configured FastAGI server.  :meth:`dispatchIncomingCall <UtilApplication.dispatchIncomingCall>`
sends each FastAGI call to the handler registered for it.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, cast

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IReactorTime
from twisted.python.failure import Failure

from starpy import fastagi, manager
from starpy._idioms import defaultReactor
from starpy._tls import tlsFileProblems, tlsUnavailable
from starpy.agi import AGISession, Handler
from starpy.appconfig import (
    OPTIONS,
    SEARCH_PATH,
    ConfigProblem,
    StarpyConfig,
    StarpyConfigError,
    loadConfiguration,
)
from starpy.dispatch import Handle
from starpy.error import CallWaitTimeout  # defined there; exported here too

__all__ = [
    "UtilApplication",
    "AMISpecifier",
    "AGISpecifier",
    "CallWaitTimeout",
    "StarpyConfigError",
    "Handler",
    "log",
]

log = logging.getLogger("starpy.utilapplication")


_Key = Tuple[Optional[str], Optional[str]]


class AMISpecifier:
    """Where and how to log into the AMI (the ``[AMI]`` section).

    Attributes match the keys: ``username``, ``secret``, ``server``,
    ``port``, ``timeout``, ``actionTimeout``, ``md5``, ``tls``, ``tlsCA``,
    ``tlsCertificate``, ``tlsKey``, ``keepalive``.  The secret is kept out
    of ``repr``.

    :param reactor: the reactor to connect with (default: the global one).
    """

    username = ""
    server = "127.0.0.1"
    port = 5038
    timeout = 5.0
    actionTimeout: Optional[float] = 30.0
    md5 = False
    tls = False
    tlsCA = ""
    tlsCertificate = ""
    tlsKey = ""
    keepalive: Optional[float] = None

    def __init__(self, reactor: Any = None, **settings: Any) -> None:
        self.reactor = reactor
        self.secret = ""
        known = {o.attribute for o in OPTIONS if o.section == "AMI"}
        for name, value in settings.items():
            if name not in known:
                raise TypeError("AMISpecifier has no setting %r" % (name,))
            setattr(self, name, value)

    @property
    def password(self) -> str:
        """Upstream StarPy's other name of :attr:`secret`."""
        return self.secret

    @password.setter
    def password(self, value: str) -> None:
        self.secret = value

    def __repr__(self) -> str:
        return "<AMISpecifier %s@%s%s>" % (self.username or "?", self.describeTarget(),
                                           " md5" if self.md5 else "")

    def describeTarget(self) -> str:
        """``server:port``, with ``tls:`` in front for TLS."""
        return "%s%s:%d" % ("tls:" if self.tls else "", self.server, self.port)

    def endpointDescription(self) -> Optional[str]:
        """The Twisted client endpoint string for TLS, or ``None`` for plain TCP.

        ``tls:host=SERVER:port=PORT`` plus ``trustRoots``, ``certificate`` and
        ``privateKey`` when set (see ``twisted.internet.endpoints.clientFromString``).
        """
        if not self.tls:
            return None

        def quote(text: str) -> str:
            return text.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")

        parts = ["tls", "host=" + quote(self.server), "port=%d" % (self.port,),
                 "timeout=%g" % (self.timeout,)]
        if self.tlsCA:
            parts.append("trustRoots=" + quote(self.tlsCA))
        if self.tlsCertificate:
            parts.append("certificate=" + quote(self.tlsCertificate))
            parts.append("privateKey=" + quote(self.tlsKey or self.tlsCertificate))
        return ":".join(parts)

    def tlsProblems(self) -> List[ConfigProblem]:
        """What would keep the TLS connection from being made, before making it.

        Empty unless ``tls`` is on.  Otherwise: TLS support missing from this
        environment (StarPy's ``tls`` extra), and each of ``tls_ca``,
        ``tls_certificate`` and ``tls_key`` that does not load.
        """
        if not self.tls:
            return []
        why = tlsUnavailable()
        if why is not None:
            return [ConfigProblem(None, "AMI", "tls", why)]
        return [ConfigProblem(None, "AMI", key, problem) for key, problem in
                tlsFileProblems(self.tlsCA, self.tlsCertificate, self.tlsKey)]

    def factory(self, **options: Any) -> manager.AMIFactory:
        """A :class:`AMIFactory <starpy.manager.AMIFactory>` with these settings.

        *options* are passed on (``events=``, ``trace=``...).

        :raises StarpyConfigError: if no username is set.
        """
        if not self.username:
            raise StarpyConfigError([ConfigProblem(
                None, "AMI", "username", "not set: add it to starpy.conf to use the AMI")])
        options.setdefault("md5", self.md5)
        options.setdefault("timeout", self.actionTimeout)
        options.setdefault("keepalive", self.keepalive)
        return manager.AMIFactory(self.username, self.secret, reactor=self.reactor, **options)

    def login(self, **options: Any) -> Deferred[manager.AMIProtocol]:
        """Connect and log in.

        :return: a Deferred firing with the logged-in
            :class:`AMIProtocol <starpy.manager.AMIProtocol>`.  It fails with
            :class:`StarpyConfigError` when no username is configured or
            TLS cannot be set up (:meth:`tlsProblems`), before connecting;
            :class:`AMIAuthenticationError <starpy.error.AMIAuthenticationError>` on wrong
            credentials, :class:`AMITimeout <starpy.error.AMITimeout>` when login takes
            longer than ``timeout``, or the connection error (such as
            ``twisted.internet.error.ConnectionRefusedError``).
        """
        try:
            amiFactory = self.factory(**options)
            problems = self.tlsProblems()
            if problems:
                raise StarpyConfigError(problems)
        except StarpyConfigError:
            return defer.fail(Failure())
        description = self.endpointDescription()
        target = description if description is not None else self.server
        return amiFactory.login(target, self.port, timeout=self.timeout)


class AGISpecifier:
    """Where to listen for FastAGI (the ``[FastAGI]`` section).

    Attributes: ``port``, ``interface``, ``context``, ``allowedClients``
    (a tuple; empty allows any client), ``backlog``.

    :param reactor: the reactor to listen with and the clock of the
        sessions (default: the global one).
    """

    port = 4573
    interface = "127.0.0.1"
    context = "default"
    allowedClients: Tuple[str, ...] = ()
    backlog = fastagi.DEFAULT_BACKLOG

    def __init__(self, reactor: Any = None, **settings: Any) -> None:
        self.reactor = reactor
        known = {o.attribute for o in OPTIONS if o.section == "FastAGI"}
        for name, value in settings.items():
            if name not in known:
                raise TypeError("AGISpecifier has no setting %r" % (name,))
            setattr(self, name, value)

    def __repr__(self) -> str:
        return "<AGISpecifier %s:%d>" % (self.interface or "*", self.port)

    def factory(self, mainFunction: Handler) -> fastagi.FastAGIFactory:
        """A :class:`FastAGIFactory <starpy.fastagi.FastAGIFactory>` running *mainFunction*."""
        return fastagi.FastAGIFactory(
            mainFunction,
            allowedClients=list(self.allowedClients) if self.allowedClients else None,
            clock=self.reactor,
        )

    def run(self, mainFunction: Handler) -> Deferred[IListeningPort]:
        """Start the FastAGI server, calling *mainFunction(agi)* for each call.

        :return: a Deferred firing with the listening port
            (``port.getHost().port`` is the number, useful with ``port = 0``);
            it fails with ``twisted.internet.error.CannotListenError``.
        """
        reactor = self.reactor if self.reactor is not None else defaultReactor()
        d = fastagi.listenFastAGI(self.factory(mainFunction), self.port, self.interface,
                                  reactor=reactor, backlog=self.backlog)

        def listening(port: IListeningPort) -> IListeningPort:
            log.info("FastAGI listening on %s", port.getHost())
            return port

        return d.addCallback(listening)


class _Waiter:
    __slots__ = ("key", "deferred")

    def __init__(self, key: _Key, deferred: Deferred[Any]) -> None:
        self.key = key
        self.deferred = deferred


class UtilApplication:
    """An AMI/FastAGI application configured by ``starpy.conf``.

    :param configFile: read this file only (it must exist); by default
        ``$STARPY_CONF``, or else ``~/.starpy.conf`` overridden by
        ``./starpy.conf`` (see :mod:`starpy.appconfig`).
    :param reactor: reactor and clock for everything the application starts
        (default: the global reactor).
    :param environ: the environment to look ``STARPY_CONF`` up in (default
        ``os.environ``).
    :param searchPath: the files read when no path is given, lowest
        precedence first.
    :raises StarpyConfigError: if the configuration has any problem; its
        ``problems`` list every one (file, section, key, message).

    :ivar config: the :class:`StarpyConfig <starpy.appconfig.StarpyConfig>` read.
    :ivar amiSpecifier: the :class:`AMISpecifier` from ``[AMI]``.
    :ivar agiSpecifier: the :class:`AGISpecifier` from ``[FastAGI]``.
    """

    def __init__(
        self,
        configFile: Optional[str] = None,
        reactor: Any = None,
        environ: Optional[Mapping[str, str]] = None,
        searchPath: Sequence[str] = SEARCH_PATH,
    ) -> None:
        self.reactor = reactor
        self.config: StarpyConfig = loadConfiguration(configFile, environ, searchPath)
        self.config.raiseProblems()
        if self.config.files:
            log.debug("configuration read from %s", ", ".join(self.config.files))
        self.amiSpecifier = AMISpecifier(reactor, **self.config.section("AMI"))
        self.agiSpecifier = AGISpecifier(reactor, **self.config.section("FastAGI"))
        self._handlers: Dict[_Key, Handler] = {}
        self._scripts: Dict[str, Handler] = {}
        self._waiters: Dict[_Key, List[_Waiter]] = {}

    @property
    def configFiles(self) -> List[str]:
        """The configuration files that were read, lowest precedence first."""
        return list(self.config.files)

    @property
    def clock(self) -> IReactorTime:
        """The clock for timeouts (the reactor given, or the global one)."""
        return cast(IReactorTime, self.reactor if self.reactor is not None else defaultReactor())

    # -- registration -----------------------------------------------------------

    def handleCallsFor(self, extension: Union[str, int, None], handler: Handler,
                       context: Optional[str] = None) -> Handle:
        """Send every call for *extension* to *handler* from now on.

        :param extension: the ``agi_extension`` to handle (numbers are
            turned into strings), or ``None`` for the default handler that
            gets calls nothing else claims.
        :param context: handle the extension only in this ``agi_context``;
            with ``extension=None``, the default handler of that context.
            A context-specific handler wins over one for any context.
        :return: a :class:`Handle <starpy.dispatch.Handle>`; ``cancel()``
            removes this registration (if it is still the current one for
            its key).
        """
        key = (None if context is None else str(context),
               None if extension is None else str(extension))
        self._handlers[key] = handler

        def remove() -> None:
            if self._handlers.get(key) is handler:
                del self._handlers[key]

        return Handle(remove)

    def handleScript(self, path: str, handler: Handler) -> Handle:
        """Send calls for FastAGI script *path* to *handler*.

        ``AGI(agi://127.0.0.1:4573/hello)`` has script path ``hello``;
        leading and trailing slashes and the query are ignored.  A script
        handler wins over extension handlers (but not over one-shot waiters).

        :return: a :class:`Handle <starpy.dispatch.Handle>`; ``cancel()``
            removes this registration.
        """
        key = path.strip("/")
        self._scripts[key] = handler

        def remove() -> None:
            if self._scripts.get(key) is handler:
                del self._scripts[key]

        return Handle(remove)

    def waitForCallOn(self, extension: Union[str, int, None], timeout: float = 15.0,
                      context: Optional[str] = None) -> Deferred[Any]:
        """Wait for the next call on *extension* (one-shot).

        The next call for *extension* (in *context*, if given) goes to the
        returned Deferred instead of any handler; the session is left open
        for the caller of this method to drive, and to ``finish()``.
        Several waiters on one extension are served in the order they
        started waiting.

        :param timeout: seconds to wait, on the application's clock.
        :return: a Deferred firing with the FastAGI session, or failing with
            :class:`CallWaitTimeout` (a ``defer.TimeoutError``) when no call
            comes in time.  Cancelling it stops the wait.
        """
        key = (None if context is None else str(context), str(extension))
        waiter = _Waiter(key, Deferred(lambda d: self._forgetWaiter(waiter)))
        self._waiters.setdefault(key, []).append(waiter)
        log.debug("waiting %g s for a call on extension %r", timeout, key[1])

        def onTimeout(result: Any, seconds: float) -> Failure:
            return Failure(CallWaitTimeout(key[1] or "", key[0], seconds))

        return waiter.deferred.addTimeout(timeout, self.clock, onTimeoutCancel=onTimeout)

    def _forgetWaiter(self, waiter: _Waiter) -> None:
        waiting = self._waiters.get(waiter.key)
        if waiting is not None and waiter in waiting:
            waiting.remove(waiter)
            if not waiting:
                del self._waiters[waiter.key]

    # -- dispatch ----------------------------------------------------------------

    def findHandler(self, agi: AGISession) -> Optional[Handler]:
        """The permanent handler for *agi*, or ``None``.

        In order: the script path's handler, the handler for the extension in
        the call's context, for the extension in any context, the context's
        default handler, the default handler.
        """
        variables = agi.variables
        extension = variables.get("agi_extension")
        context = variables.get("agi_context")
        script = getattr(agi, "scriptPath", "")  # FastAGI's (AsyncAGI has no script path)
        if script and script in self._scripts:
            return self._scripts[script]
        for key in ((context, extension), (None, extension), (context, None), (None, None)):
            handler = self._handlers.get(key)
            if handler is not None:
                return handler
        return None

    def dispatchIncomingCall(self, agi: AGISession) -> Any:
        """Route one incoming call; pass this to ``agiSpecifier.run``.

        A one-shot waiter (:meth:`waitForCallOn`) for the call's extension
        gets it first; otherwise :meth:`findHandler` chooses.  A call no one
        claims is logged and finished.

        :return: what the handler returns (so the FastAGI server finishes the
            session when its Deferred or coroutine completes), or ``None``.
        """
        variables = agi.variables
        extension = variables.get("agi_extension", "")
        context = variables.get("agi_context")
        log.debug("FastAGI call for extension %r in context %r", extension, context)
        for key in ((context, extension), (None, extension)):
            waiting = self._waiters.get(key)
            if waiting:
                waiter = waiting.pop(0)
                if not waiting:
                    del self._waiters[key]
                waiter.deferred.callback(agi)
                return None
        handler = self.findHandler(agi)
        if handler is None:
            log.warning("no handler for the call on %s to extension %r in context %r "
                        "(script %r); finishing it", variables.get("agi_channel", "?"),
                        extension, context, variables.get("agi_network_script", ""))
            agi.finish()
            return None
        return handler(agi)
