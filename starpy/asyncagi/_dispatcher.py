"""The AsyncAGI dispatcher: a session per channel entering ``AGI(agi:async)``
(private: ``starpy.asyncagi`` re-exports :class:`AsyncAGIDispatcher`)."""
from __future__ import annotations

import itertools
import uuid
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Union,
)

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from starpy import error
from starpy.agi import Handler, runHandler
from starpy.asyncagi._common import log, nameSet, originateData
from starpy.asyncagi._session import AsyncAGISession
from starpy.codec.agi import (
    decodeAsyncValue,
    parseEnvironment,
)
from starpy.codec.ami import Message
from starpy.dispatch import HandleGroup
from starpy.interfaces import IAMIConnection, clockOf, currentConnection
from starpy.originate import newChannelId


class AsyncAGIDispatcher(Service):
    """Turn each channel entering ``AGI(agi:async)`` into a session.

    Like :class:`FastAGIFactory <starpy.fastagi.FastAGIFactory>`, but fed by AMI events.
    It is a Twisted service: :meth:`startService` registers its event
    handlers on *ami*, :meth:`stopService` cancels them and ends the
    sessions it holds (without touching the channels).

    :param ami: a logged-in :class:`AMIProtocol <starpy.manager.AMIProtocol>`, or an
        :class:`AMIService <starpy.manager.AMIService>` (registrations then survive
        reconnections; each session speaks through the connection that
        announced it and ends if that connection is lost).
    :param mainFunction: called with each new :class:`AsyncAGISession`; may
        return a value, a Deferred or be an ``async def``.  When its Deferred
        (or coroutine) completes, the session is finished
        (``ASYNCAGI BREAK``); when it fails, the failure is logged with its
        traceback and the session finished.  A plain return value leaves the
        session open: such a handler finishes it itself.  ``None``: only
        sessions of :meth:`originate` are taken.
    :param context: only channels in this context (or one of these) go to
        *mainFunction*; ``None``: any.
    :param extension: likewise for the extension.
    :param clock: the clock for timeouts and ``agi.wait``; default the AMI
        protocol's (or the service's factory's reactor).

    :ivar sessions: the open sessions by ``Uniqueid``.
    """

    def __init__(
        self,
        ami: Any,
        mainFunction: Optional[Handler] = None,
        context: Union[str, Iterable[str], None] = None,
        extension: Union[str, Iterable[str], None] = None,
        clock: Optional[IReactorTime] = None,
    ) -> None:
        self.ami = ami
        self.mainFunction = mainFunction
        self.contexts = nameSet(context)
        self.extensions = nameSet(extension)
        if clock is None:
            clock = clockOf(ami)
        self.clock: Optional[IReactorTime] = clock
        self.sessions: Dict[str, AsyncAGISession] = {}
        self._byName: Dict[str, str] = {}
        self._commands: Dict[str, AsyncAGISession] = {}
        self._waiters: Dict[str, Deferred[AsyncAGISession]] = {}
        self._registration: Optional[HandleGroup] = None
        self._watched: Dict[int, Deferred[None]] = {}
        self._prefix = "starpy-%s-" % (uuid.uuid4().hex[:12],)
        self._counter = itertools.count(1)

    def __repr__(self) -> str:
        return "<AsyncAGIDispatcher %s, %d sessions>" % (
            "running" if self.running else "stopped", len(self.sessions))

    # -- the service -----------------------------------------------------------

    def startService(self) -> None:
        """Register the AMI event handlers (idempotent)."""
        if self._registration is not None:
            return
        Service.startService(self)
        handlers: Sequence[tuple[str, Callable[[Any, Message], None]]] = (
            ("AsyncAGIStart", self._onStart),
            ("AsyncAGIExec", self._onExec),
            ("AsyncAGIEnd", self._onEnd),
            ("AsyncAGI", self._onOldForm),
            ("HangupRequest", self._onHangupRequest),
            ("Hangup", self._onHangup),
            ("Rename", self._onRename),
        )
        self._registration = HandleGroup([self.ami.registerEvent(name, handler)
                                     for name, handler in handlers])

    def stopService(self) -> Deferred[None]:
        """Cancel the event handlers; end the sessions held (their waiting
        commands fail with :class:`AGIHangup <starpy.error.AGIHangup>`) and cancel the
        :meth:`originate` calls still waiting.  The channels stay in
        AsyncAGI.  Returns a Deferred that has fired (with ``None``)."""
        registration, self._registration = self._registration, None
        if registration is not None:
            registration.cancel()
        if self.running:
            Service.stopService(self)
        for session in list(self.sessions.values()):
            session.endSession("AsyncAGI dispatcher stopped", hungUp=False)
        watched, self._watched = self._watched, {}
        for whenClosed in watched.values():
            whenClosed.cancel()  # leave no waiter on the AMI protocol
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            waiter.cancel()
        return defer.succeed(None)

    # -- originate ---------------------------------------------------------------

    def originate(
        self,
        channel: str,
        timeout: float = 60.0,
        channelId: Optional[str] = None,
        arguments: Sequence[str] = (),
        ringTimeout: Optional[float] = None,
        callerid: Optional[str] = None,
        variable: Union[Mapping[str, Any], Iterable[str], None] = None,
        account: Optional[str] = None,
        otherChannelId: Optional[str] = None,
    ) -> Deferred[AsyncAGISession]:
        """Call *channel* and run ``AGI(agi:async)`` on it once it answers.

        Sends ``Originate`` with ``Application: AGI``, ``Data: agi:async``
        (plus *arguments*), ``Async: true`` and ``ChannelId`` set to
        *channelId* (default: a fresh unique id), then waits for the
        ``AsyncAGIStart`` of the channel with that ``Uniqueid``.  That
        session goes to the caller, not to *mainFunction*.

        :param arguments: the session's :attr:`AsyncAGISession.arguments`,
            each escaped for Asterisk's argument parser so that it arrives
            exactly as given (a comma, quote or backslash included).  At
            most :data:`MAX_ORIGINATE_ARGUMENTS`, taking at most
            :data:`ORIGINATE_ARGUMENTS_BUDGET` bytes of the environment;
            more, or a NUL, CR or LF, fails with ``ValueError`` and sends
            nothing.
        :param variable: channel variables, as for
            :meth:`originate <starpy.manager.AMIProtocol.originate>` (escaped too).
        :param timeout: seconds to wait for the session, in all.
        :param ringTimeout: seconds the channel may ring (``Timeout``).
        :return: a Deferred firing with the :class:`AsyncAGISession` of the
            call; failing with :class:`AMIOriginateFailure <starpy.error.AMIOriginateFailure>`
            (not answered, busy...), :class:`AMICommandFailure <starpy.error.AMICommandFailure>`,
            :class:`AMIConnectionLost <starpy.error.AMIConnectionLost>`,
            :class:`AMITimeout <starpy.error.AMITimeout>` after *timeout*, or
            ``CancelledError`` when the dispatcher stops first.
            Cancelling it stops waiting (the call may still go ahead).
        """
        if not self.running:
            return defer.fail(RuntimeError("the AsyncAGI dispatcher is not running"))
        ami = self._currentProtocol()
        if ami is None:
            return defer.fail(error.AMIConnectionLost("Originate", "not logged in"))
        tag = channelId or newChannelId()
        if tag in self._waiters or tag in self.sessions:
            return defer.fail(error.LocalProtocolError("channelId %r is already in use" % (tag,)))
        try:
            data = originateData(arguments)
        except ValueError as e:
            return defer.fail(e)
        action: List[Deferred[Any]] = []

        def cancel(waiting: Deferred[AsyncAGISession]) -> None:
            if self._waiters.get(tag) is waiting:
                del self._waiters[tag]
            if action and not action[0].called:
                action[0].cancel()

        waiter: Deferred[AsyncAGISession] = Deferred(cancel)
        self._waiters[tag] = waiter
        try:
            sent: Deferred[Any] = ami.originate(
                channel, application="AGI", data=data, asynchronous=True, channelId=tag,
                otherChannelId=otherChannelId, timeout=ringTimeout, callerid=callerid,
                variable=variable, account=account)
        except Exception:
            sent = defer.fail(Failure())
        action.append(sent)

        def failed(reason: Failure) -> None:
            if self._waiters.get(tag) is waiter:
                del self._waiters[tag]
                waiter.errback(reason)
            elif not reason.check(defer.CancelledError):
                log.debug("originate of %s failed after its session: %s", channel,
                          reason.getErrorMessage())

        sent.addCallbacks(lambda response: None, failed)

        def timedOut(result: Any, seconds: float) -> Failure:
            return Failure(error.AMITimeout("Originate into AsyncAGI", seconds))

        if self.clock is not None and not waiter.called:
            waiter.addTimeout(timeout, self.clock, onTimeoutCancel=timedOut)
        return waiter

    # -- event handlers ----------------------------------------------------------

    def _onStart(self, ami: Any, event: Message) -> None:
        self._start(ami, event)

    def _onExec(self, ami: Any, event: Message) -> None:
        ids = event.getAll("commandid")
        if not ids:
            return  # a command sent without CommandID: not ours
        commandID = ids[-1]
        session = self._commands.get(commandID)
        if session is not None:
            session.execReceived(commandID, event)

    def _onEnd(self, ami: Any, event: Message) -> None:
        session = self._find(event)
        if session is not None:
            session.endSession("AsyncAGI ended (AsyncAGIEnd)", hungUp=False)

    def _onOldForm(self, ami: Any, event: Message) -> None:
        sub = event.get("subevent", "").lower()
        if sub == "start":
            self._onStart(ami, event)
        elif sub == "exec":
            self._onExec(ami, event)
        elif sub == "end":
            self._onEnd(ami, event)

    def _onHangupRequest(self, ami: Any, event: Message) -> None:
        # Asterisk sends it before AsyncAGIEnd when the channel hangs up.
        session = self._find(event)
        if session is not None:
            session.hangupReceived()

    def _onHangup(self, ami: Any, event: Message) -> None:
        session = self._find(event)
        if session is not None:
            session.endSession("channel hung up", hungUp=True)

    def _onRename(self, ami: Any, event: Message) -> None:
        session = self._find(event)
        newName = event.get("newname")
        if session is not None and newName:
            self._byName.pop(session.channel, None)
            session.channel = newName
            self._byName[newName] = session.uniqueid

    # -- internals ---------------------------------------------------------------

    def _find(self, event: Message) -> Optional[AsyncAGISession]:
        uniqueid = event.get("uniqueid")
        if uniqueid is None:
            uniqueid = self._byName.get(event.get("channel", ""))
        return self.sessions.get(uniqueid) if uniqueid is not None else None

    def _wanted(self, session: AsyncAGISession) -> bool:
        if self.contexts is not None and session.context not in self.contexts:
            return False
        if self.extensions is not None and session.extension not in self.extensions:
            return False
        return True

    def _start(self, ami: Any, event: Message) -> None:
        try:
            variables = parseEnvironment(decodeAsyncValue(event.get("env", "")))
        except error.AGIProtocolError as e:
            log.warning("AsyncAGIStart with an unreadable Env ignored: %s", e)
            return
        session = AsyncAGISession(self, ami, event, variables, self.clock)
        if not session.uniqueid or not session.channel:
            log.warning("AsyncAGIStart without channel or Uniqueid ignored: %r", event)
            return
        waiter = self._waiters.pop(session.uniqueid, None)
        if waiter is None and (self.mainFunction is None or not self._wanted(session)):
            return  # someone else's channel
        previous = self.sessions.get(session.uniqueid)
        if previous is not None:
            previous.endSession("AsyncAGI restarted on the channel", hungUp=False)
        self.sessions[session.uniqueid] = session
        self._byName[session.channel] = session.uniqueid
        self._watch(ami)
        log.debug("%s: AsyncAGI session started", session.channel)
        if waiter is not None:
            waiter.callback(session)
        else:
            self._run(session)

    def _run(self, session: AsyncAGISession) -> None:
        assert self.mainFunction is not None
        runHandler(session, self.mainFunction)

    def _watch(self, ami: Any) -> None:
        """End the sessions of *ami* when that connection closes."""
        if not IAMIConnection.providedBy(ami) or id(ami) in self._watched:
            return
        waiting: Deferred[None] = ami.whenClosed()

        def closed(ignored: object) -> None:
            if self._watched.get(id(ami)) is waiting:
                del self._watched[id(ami)]
            for session in list(self.sessions.values()):
                if session.ami is ami:
                    session.endSession("AMI connection lost", hungUp=False)

        if not waiting.called:
            self._watched[id(ami)] = waiting
        waiting.addCallbacks(closed, lambda reason: reason.trap(defer.CancelledError))

    # -- what sessions call ---------------------------------------------------------

    def trackCommand(self, session: AsyncAGISession) -> str:
        """A new ``CommandID`` whose ``AsyncAGIExec`` goes to *session*
        (until :meth:`forgetCommand`)."""
        commandID = self._newCommandID()
        self._commands[commandID] = session
        return commandID

    def forgetCommand(self, commandID: str) -> None:
        """The command *commandID* is answered or given up: its
        ``AsyncAGIExec`` goes nowhere any more."""
        self._commands.pop(commandID, None)

    def sessionEnded(self, session: AsyncAGISession) -> None:
        """*session* is over: forget it (its channel may start AsyncAGI again)."""
        if self.sessions.get(session.uniqueid) is session:
            del self.sessions[session.uniqueid]
        if self._byName.get(session.channel) == session.uniqueid:
            del self._byName[session.channel]

    def _newCommandID(self) -> str:
        return "%s%d" % (self._prefix, next(self._counter))

    def _currentProtocol(self) -> Any:
        return currentConnection(self.ami)
