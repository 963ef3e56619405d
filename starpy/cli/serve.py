"""``starpy serve``: run FastAGI handlers standalone, in one process or several.

Routes name a handler and what it handles::

    module:function               the default handler (calls nothing else claims)
    100=module:function           extension 100, any context
    100@sales=module:function     extension 100 in context sales
    @sales=module:function        every other call in context sales
    /hello=module:function        script path: AGI(agi://host:4573/hello)

``module:function`` may name an attribute path (``module:obj.method``).  The
current directory is importable, as with ``python -m``.

With ``--workers N`` the parent process opens the listening socket and starts
N worker processes (``python -m starpy serve --adopt-fd FD ...``) that each
adopt it (Twisted's ``reactor.adoptStreamPort``): the kernel hands each new
connection to one of them.  The parent only supervises: it restarts a worker
that dies, stops them all on SIGINT/SIGTERM, and a worker stops by itself if
the parent goes away (its stdin, a pipe from the parent, closes).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

from twisted.internet import abstract, defer, fdesc, protocol
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

import starpy.cli._status as _status
from starpy.cli.ami import CommandError, checkMetricsOption, loadApplication, startMetrics
from starpy.utilapplication import Handler, UtilApplication

__all__ = ["Route", "parseRoute", "parseRoutes", "loadHandler", "prepareServe", "runServe", "log"]

log = logging.getLogger("starpy.cli.serve")

#: Seconds before a worker that died is started again.
RESTART_DELAY = 1.0



@dataclass(frozen=True)
class Route:
    """One ``starpy serve`` route.

    :ivar text: the route as given.
    :ivar reference: ``module:function``.
    :ivar extension: the extension, or ``None``.
    :ivar context: the context, or ``None``.
    :ivar script: the script path, or ``None``.
    """

    text: str
    reference: str
    extension: Optional[str] = None
    context: Optional[str] = None
    script: Optional[str] = None

    def describe(self) -> str:
        """Where calls come from, for the log: ``extension 100``, ``script /hello``..."""
        if self.script is not None:
            return "script /%s" % (self.script,)
        if self.extension is None and self.context is None:
            return "any other call"
        if self.extension is None:
            return "any call in context %s" % (self.context,)
        if self.context is None:
            return "extension %s" % (self.extension,)
        return "extension %s@%s" % (self.extension, self.context)


def parseRoute(text: str) -> Route:
    """Parse one route (see the module documentation).

    :raises CommandError: with ``EXIT_USAGE`` when it does not parse.
    """
    target, equals, reference = text.partition("=")
    if not equals:
        target, reference = "", text
    module, colon, name = reference.partition(":")
    if not colon or not module or not name:
        raise CommandError(_status.EXIT_USAGE,
                           "route %r: the handler must be module:function" % (text,))
    if not equals:
        return Route(text, reference)
    target = target.strip()
    if target.startswith("/"):
        path = target.strip("/")
        if not path:
            raise CommandError(_status.EXIT_USAGE, "route %r: empty script path" % (text,))
        if "?" in path:
            raise CommandError(_status.EXIT_USAGE, "route %r: a script path has no '?' "
                               "(the query of AGI(agi://host/PATH?...) is not part of it)"
                               % (text,))
        return Route(text, reference, script=path)
    extension, at, context = target.partition("@")
    if (not extension and not (at and context)) or (at and not context):
        raise CommandError(_status.EXIT_USAGE,
                           "route %r: expected EXTEN, EXTEN@CONTEXT, @CONTEXT or /PATH "
                           "before '='" % (text,))
    return Route(text, reference, extension=extension or None, context=context or None)


def parseRoutes(texts: Sequence[str]) -> List[Route]:
    """Parse every route; two routes for the same calls are refused.

    :raises CommandError: with ``EXIT_USAGE`` for a route that does not
        parse or that repeats what an earlier one routes.
    """
    routes: List[Route] = []
    seen: Dict[Tuple[Optional[str], ...], Route] = {}
    for text in texts:
        route = parseRoute(text)
        key = (route.script,) if route.script is not None else (route.context, route.extension)
        earlier = seen.get(key)
        if earlier is not None:
            raise CommandError(_status.EXIT_USAGE, "route %r: %s is already routed by %r" % (
                text, route.describe(), earlier.text))
        seen[key] = route
        routes.append(route)
    return routes


def loadHandler(reference: str) -> Handler:
    """Import ``module:function`` (or ``module:obj.attr``) and return it.

    :raises CommandError: with ``EXIT_USAGE`` if it cannot be imported or is
        not callable.
    """
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    moduleName, _, attributes = reference.partition(":")
    try:
        target: Any = importlib.import_module(moduleName)
        for attribute in attributes.split("."):
            target = getattr(target, attribute)
    except Exception as e:  # noqa: BLE001 - anything the import raises
        raise CommandError(_status.EXIT_USAGE, "cannot load %s: %s: %s" % (
            reference, type(e).__name__, " ".join(str(e).split()))) from None
    if not callable(target):
        raise CommandError(_status.EXIT_USAGE, "handler %s is not callable" % (reference,))
    handler: Handler = target
    return handler


def prepareServe(args: argparse.Namespace, reactor: Any) -> UtilApplication:
    """The application of ``starpy serve``: configuration, overrides, routes.

    :raises CommandError: on a configuration problem or a bad route.
    """
    routes = parseRoutes(args.routes)
    application = loadApplication(args, reactor)
    spec = application.agiSpecifier
    if args.port is not None:
        spec.port = args.port
    if args.interface is not None:
        spec.interface = args.interface
    if getattr(args, "backlog", None) is not None:
        spec.backlog = args.backlog
    for route in routes:
        handler = loadHandler(route.reference)
        if route.script is not None:
            application.handleScript(route.script, handler)
        else:
            application.handleCallsFor(route.extension, handler, context=route.context)
        log.info("%s -> %s", route.describe(), route.reference)
    return application


async def runServe(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``starpy serve``: serve until interrupted."""
    codes = _status
    if args.workers < 1:
        raise CommandError(codes.EXIT_USAGE, "--workers must be 1 or more")
    metricsAddress = checkMetricsOption(args)
    if metricsAddress is not None and args.workers > 1:
        raise CommandError(codes.EXIT_USAGE, "--metrics serves one process's numbers: "
                           "use it without --workers")
    application = prepareServe(args, reactor)
    spec = application.agiSpecifier
    if args.adopt_fd is not None:
        return await _runWorker(reactor, application, args, out)
    if args.workers > 1:
        return await _runSupervisor(reactor, application, args, out)
    from twisted.internet import error as netError

    handler: Handler = application.dispatchIncomingCall
    metricsPort: Any = None
    if metricsAddress is not None:
        numbers, metricsPort = startMetrics(metricsAddress, reactor, err)
        handler = numbers.instrumentHandler(handler)
    try:
        port = await spec.run(handler)
    except netError.CannotListenError as e:
        if metricsPort is not None:
            await metricsPort.stopListening()
        raise CommandError(codes.EXIT_BAD_CONFIG, "cannot listen on %s:%d: %s" % (
            spec.interface or "*", spec.port, e.socketError)) from None
    host = port.getHost()
    print("starpy serve: FastAGI listening on %s:%d" % (host.host, host.port),  # type: ignore[attr-defined]
          file=out, flush=True)
    await Deferred()  # until the reactor stops
    return int(codes.EXIT_OK)


# -- workers ---------------------------------------------------------------------------


class _ParentPipe(abstract.FileDescriptor):
    """Reads (and drops) stdin; when the parent's end closes, stop the reactor."""

    def __init__(self, reactor: Any) -> None:
        abstract.FileDescriptor.__init__(self, reactor)
        self.stopReactor = reactor
        fdesc.setNonBlocking(0)  # type: ignore[no-untyped-call]

    def fileno(self) -> int:
        return 0

    def doRead(self) -> Any:
        return fdesc.readFromFD(0, lambda data: None)  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure) -> None:
        abstract.FileDescriptor.connectionLost(self, reason)  # type: ignore[no-untyped-call]
        log.info("worker %d: the supervisor is gone; stopping", os.getpid())
        if self.stopReactor.running:
            self.stopReactor.stop()


async def _runWorker(reactor: Any, application: UtilApplication, args: argparse.Namespace,
                     out: TextIO) -> int:
    family = socket.AF_INET6 if args.family == "inet6" else socket.AF_INET
    factory = application.agiSpecifier.factory(application.dispatchIncomingCall)
    port = reactor.adoptStreamPort(args.adopt_fd, family, factory)
    os.close(args.adopt_fd)  # adoptStreamPort keeps its own duplicate
    pipe = _ParentPipe(reactor)
    pipe.startReading()  # type: ignore[no-untyped-call]
    host = port.getHost()
    log.info("worker %d accepting on %s:%d", os.getpid(), host.host, host.port)
    await Deferred()
    return int(_status.EXIT_OK)


class _Worker(protocol.ProcessProtocol):
    def __init__(self, supervisor: "_Supervisor", number: int) -> None:
        self.supervisor = supervisor
        self.number = number
        self.ended: Deferred[None] = Deferred()

    def processEnded(self, reason: Failure) -> None:
        self.supervisor.workerEnded(self, reason)
        self.ended.callback(None)


class _Supervisor:
    def __init__(self, reactor: Any, argv: List[str], fd: int) -> None:
        self.reactor = reactor
        self.argv = argv
        self.fd = fd
        self.workers: Dict[int, _Worker] = {}
        self.stopping = False

    def start(self, number: int) -> None:
        worker = _Worker(self, number)
        self.workers[number] = worker
        self.reactor.spawnProcess(worker, sys.executable, self.argv, env=dict(os.environ),
                                  childFDs={0: "w", 1: 1, 2: 2, self.fd: self.fd})
        log.info("started worker %d (pid %s)", number,
                 getattr(worker.transport, "pid", "?"))

    def workerEnded(self, worker: _Worker, reason: Failure) -> None:
        if self.workers.get(worker.number) is worker:
            del self.workers[worker.number]
        if self.stopping:
            return
        log.warning("worker %d ended (%s); restarting it in %g s", worker.number,
                    reason.getErrorMessage(), RESTART_DELAY)
        self.reactor.callLater(RESTART_DELAY, self._restart, worker.number)

    def _restart(self, number: int) -> None:
        if not self.stopping and number not in self.workers:
            self.start(number)

    def stop(self) -> Deferred[Any]:
        self.stopping = True
        waiting = []
        for worker in list(self.workers.values()):
            waiting.append(worker.ended)
            try:
                worker.transport.signalProcess("TERM")  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001 - it may have just ended
                pass
        return defer.DeferredList(waiting)


async def _runSupervisor(reactor: Any, application: UtilApplication, args: argparse.Namespace,
                         out: TextIO) -> int:
    codes = _status
    spec = application.agiSpecifier
    from twisted.internet import error as netError

    try:
        listening = reactor.listenTCP(spec.port, protocol.ServerFactory(), spec.backlog,
                                      spec.interface)
    except netError.CannotListenError as e:
        raise CommandError(codes.EXIT_BAD_CONFIG, "cannot listen on %s:%d: %s" % (
            spec.interface or "*", spec.port, e.socketError)) from None
    listening.stopReading()  # the workers accept; the supervisor never does
    fd = listening.fileno()
    os.set_inheritable(fd, True)
    argv = [sys.executable, "-m", "starpy", "serve", "--adopt-fd", str(fd),
            "--family", "inet6" if ":" in spec.interface else "inet"]
    if args.config:
        argv += ["-c", os.path.abspath(args.config)]
    if args.verbose:
        argv.append("-v")
    argv += list(args.routes)
    supervisor = _Supervisor(reactor, argv, fd)
    reactor.addSystemEventTrigger("before", "shutdown", supervisor.stop)
    for number in range(args.workers):
        supervisor.start(number)
    host = listening.getHost()
    print("starpy serve: FastAGI listening on %s:%d with %d workers" % (
        host.host, host.port, args.workers), file=out, flush=True)
    await Deferred()
    return int(codes.EXIT_OK)
