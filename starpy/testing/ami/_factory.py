"""The fake Asterisk of the AMI side: its state, its scripts, its sessions
and its TCP port.

Private to :mod:`starpy.testing.ami`, which re-exports the public names.
"""
from __future__ import annotations

import fnmatch
import logging
import random
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IListeningPort, IReactorTime
from twisted.python.failure import Failure

from starpy._idioms import defaultReactor
from starpy._logfailure import logFailure
from starpy.codec.ami import DEFAULT_MAX_MESSAGE_SIZE, Message
from starpy.testing._amianswers import deviceOf
from starpy.testing._amidata import CLI_OUTPUT
from starpy.testing._amiqueues import FakeParkedCall, FakeQueue, defaultQueues
from starpy.testing._cscan import scanInt
from starpy.testing.ami._model import (
    CAUSE_TEXT,
    DEFAULT_USERS,
    PRIVILEGES,
    FakeAMIUser,
    FakeChannel,
    Headers,
    Script,
    callerID,
    classes,
    headerPairs,
)
from starpy.testing.ami._session import FakeAMIServerProtocol
from starpy.testing.appargs import variableValues

log = logging.getLogger("starpy.testing.ami")


class FakeAMIServerFactory(protocol.Factory):
    """The fake Asterisk: users, AstDB, globals, channels, scripts, sessions.

    :param users: ``{username: secret}`` (every class) or :class:`FakeAMIUser`
        objects; default :data:`DEFAULT_USERS` (``starpy``/``starpy-secret``
        with every class, ``limited``/``limited-secret`` with ``call`` only).
    :param clock: the clock for delays and timestamps (an ``IReactorTime``,
        ``task.Clock`` in tests); default the global reactor.
    :param amiVersion: the version in the banner and CoreSettings.
    :param asteriskVersion: Asterisk's version in CoreSettings.
    :param cli: CLI command -> output lines, added to the built-in table.
    :param astdb: initial AstDB, ``{(family, key): value}``.
    :param failingChannels: glob patterns of Originate channels that fail.
    :param maxMessageSize: bound on one received action; a bigger one closes
        the session.

    :ivar authFailureDelay: seconds before ``Authentication failed`` (1.0).
    :ivar originateEventsFirst: send an async Originate's ``OriginateResponse``
        before its response (as Asterisk sometimes does).
    :ivar originateDelay: otherwise, seconds between response and event.
    :ivar received: every action received by any session, in order.
    :ivar errors: failures raised by scripts, oldest first; each is also
        logged at ``ERROR`` on ``starpy.testing.ami``, which is how a test
        harness watching the ``starpy`` loggers sees it.

    State behind the default answers (set it before or during a test):

    :ivar channels: name -> :class:`FakeChannel` (:meth:`addChannel`,
        :meth:`hangupChannel`).
    :ivar queues: name -> :class:`FakeQueue`; by default the captured
        Asterisk's ``testqueue`` (no members) and ``calls-queue`` (two
        static members).
    :ivar queueLog: the ``QueueLog`` entries received, as
        ``uniqueid|queue|interface|event|message``.
    :ivar mailboxes: ``mailbox@context`` -> ``(urgent, new, old)`` message
        counts; any other mailbox is empty.
    :ivar hints: ``(exten, context)`` -> the hint's devices (``PJSIP/100``,
        ``&``-separated), for ``ExtensionState`` and ``ExtensionStateList``.
    :ivar deviceStates: device -> state (``NOT_INUSE``, ``INUSE``, ``BUSY``,
        ``UNAVAILABLE``, ``RINGING``, ``ONHOLD``...); see :meth:`deviceState`.
    :ivar configs: file name -> ``[(category, [(key, value)...])...]``,
        read by ``GetConfig`` and written by ``UpdateConfig``.
    :ivar atxferCode: the ``atxfer`` feature code (``*2`` as on the captured
        Asterisk; empty: ``Atxfer`` is refused as without one).
    :ivar parkingTimeout: seconds a parked call stays parked (45), shown by
        ``ParkedCall`` events; parked calls are not timed out.
    """

    protocol = FakeAMIServerProtocol  # type: ignore[assignment]

    def __init__(
        self,
        users: Union[Mapping[str, str], Iterable[FakeAMIUser], None] = None,
        clock: Optional[IReactorTime] = None,
        amiVersion: str = "11.0.0",
        asteriskVersion: str = "22.10.1",
        cli: Optional[Mapping[str, Sequence[str]]] = None,
        astdb: Optional[Mapping[Tuple[str, str], str]] = None,
        failingChannels: Iterable[str] = (),
        maxMessageSize: int = DEFAULT_MAX_MESSAGE_SIZE,
        seed: Optional[int] = None,
    ) -> None:
        self.clock: IReactorTime = clock if clock is not None else defaultReactor()
        self.users: Dict[str, FakeAMIUser] = {}
        if users is None:
            users = DEFAULT_USERS
        if isinstance(users, Mapping):
            for name, secret in users.items():
                self.addUser(name, secret)
        else:
            for user in users:
                self.users[user.username] = user
        self.amiVersion = amiVersion
        self.asteriskVersion = asteriskVersion
        self.cli: Dict[str, List[str]] = {k: list(v) for k, v in CLI_OUTPUT.items()}
        self.cli.update({k: list(v) for k, v in (cli or {}).items()})
        self.astdb: Dict[Tuple[str, str], str] = dict(astdb or {})
        self.globals: Dict[str, str] = {}
        self.channels: Dict[str, FakeChannel] = {}
        self.failingChannels: List[str] = list(failingChannels)
        self.maxMessageSize = maxMessageSize
        self.random = random.Random(seed)
        self.startTime = self.clock.seconds()
        self.authFailureDelay = 1.0
        self.originateEventsFirst = False
        self.originateDelay = 0.0
        self.processedCalls = 0
        self.received: List[Message] = []
        self.errors: List[Failure] = []
        self.port: Optional[IListeningPort] = None
        self._portNumber = 0
        self._interface = "127.0.0.1"
        self._reactor: Any = None
        self._scripts: Dict[str, Script] = {}
        self._privileges: Dict[str, frozenset[str]] = {}
        self._sessions: List[FakeAMIServerProtocol] = []
        self._channelCounter = 0
        self._uniqueCounter = 0
        # State behind the default answers of starpy.testing._amidefaults and _amiqueues.
        self.queues: Dict[str, FakeQueue] = defaultQueues()
        self.queueLog: List[str] = []
        self.mailboxes: Dict[str, Tuple[int, int, int]] = {}
        self.hints: Dict[Tuple[str, str], str] = {}
        self.deviceStates: Dict[str, str] = {}
        self.configs: Dict[str, List[Tuple[str, List[Tuple[str, str]]]]] = {}
        self.atxferCode = "*2"
        self.parkingTimeout = 45
        self.parkingSpaces = range(701, 721)
        self._parked: Dict[str, FakeParkedCall] = {}
        self._counter = 0

    def __repr__(self) -> str:
        return "<FakeAMIServerFactory %d sessions, users %s>" % (
            len(self._sessions), sorted(self.users))

    # -- configuration -------------------------------------------------

    def addUser(self, username: str, secret: str, read: Union[str, Iterable[str]] = "all",
                write: Union[str, Iterable[str]] = "all",
                eventFilters: Iterable[Any] = ()) -> FakeAMIUser:
        """Add (or replace) a user with these read and write classes (and
        ``manager.conf`` event filters, see :class:`FakeAMIUser`)."""
        user = FakeAMIUser(username, secret, read, write, eventFilters)
        self.users[username] = user
        return user

    def script(self, action: str, reply: Script, privilege: Optional[str] = None) -> None:
        """Answer *action* (any case) with *reply* from now on.

        *reply* is header pairs or a mapping (``Response: Success`` plus those
        headers; a first ``Response`` header sets the status), a
        :class:`ListReply`, an :class:`ActionError`, or a callable
        ``reply(session, action)`` returning one of those, a Deferred of one
        (a failing :class:`ActionError` is an error reply), or ``None`` after
        replying itself through *session*.  It replaces a built-in reply.
        *privilege*: write classes a user needs (default: Asterisk's for
        known actions, none for others).
        """
        self._scripts[action.lower()] = reply
        if privilege is not None:
            self._privileges[action.lower()] = classes(privilege) - {"all"}

    def scriptFor(self, action: str) -> Optional[Script]:
        """The script answering *action* (lower case), or ``None``."""
        return self._scripts.get(action)

    def unscript(self, action: str) -> None:
        """Forget the script of *action* (the built-in reply, if any, is back)."""
        self._scripts.pop(action.lower(), None)

    def privilegeOf(self, action: str) -> frozenset[str]:
        """The write classes a user needs to send *action* (lower case): as
        given to :meth:`script`, else Asterisk's, else none."""
        if action in self._privileges:
            return self._privileges[action]
        known = PRIVILEGES.get(action)
        return known[1] if known else frozenset()

    def cliOutput(self, command: str) -> Optional[List[str]]:
        """The output lines of CLI *command*, or ``None`` if unknown."""
        command = " ".join(command.split())
        if command in self.cli:
            return list(self.cli[command])
        if command == "core show uptime":
            seconds = int(self.clock.seconds() - self.startTime)
            return ["System uptime: %d seconds" % seconds, "Last reload: %d seconds" % seconds]
        if command == "database show":
            lines = ["%-50s: %s" % ("/%s/%s" % key, value) for key, value in sorted(self.astdb.items())]
            return lines + ["%d results found." % len(lines)]
        return None

    def originateSucceeds(self, action: Message) -> bool:
        """Whether an Originate succeeds: not if its channel matches one of
        :attr:`failingChannels`.  Override or replace to decide otherwise."""
        channel = action.get("channel", "")
        return not any(fnmatch.fnmatchcase(channel, pattern) for pattern in self.failingChannels)

    # -- channels --------------------------------------------------------

    def newUniqueid(self) -> str:
        """A fresh ``Uniqueid`` such as ``1795488568.3``."""
        self._uniqueCounter += 1
        return "%d.%d" % (int(self.startTime), self._uniqueCounter - 1)

    def addChannel(self, name: str, uniqueid: Optional[str] = None, **fields: Any) -> FakeChannel:
        """Add a channel (see :class:`FakeChannel` for *fields*); it is up
        from now on the clock."""
        channel = FakeChannel(name, uniqueid or self.newUniqueid(),
                              created=self.clock.seconds(), **fields)
        self.channels[name] = channel
        return channel

    def hangupChannel(self, name: str, cause: int = 16, emit: bool = True) -> Optional[FakeChannel]:
        """Remove channel *name*; emit its ``Hangup`` event unless not *emit*."""
        channel = self.channels.pop(name, None)
        if channel is not None and emit:
            self.emitEvent([("Event", "Hangup"), ("Privilege", "call,all")] + channel.headers()
                           + [("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))])
        return channel

    def originateChannel(self, action: Message) -> FakeChannel:
        """Add the channel an accepted ``Originate`` *action* creates, with
        its variables, and send its ``Newchannel`` and ``Newstate`` events
        (as Asterisk does before the Originate's reply)."""
        self._channelCounter += 1
        self.processedCalls += 1
        requested = action["channel"]
        name = "%s-%08x" % (requested, self._channelCounter)
        if requested.lower().startswith("local/"):
            name += ";1"
        number, callerName = callerID(action.get("callerid"))
        fields: Dict[str, Any] = {"callerIDNum": number, "callerIDName": callerName}
        if action.get("application"):
            fields.update(application=action["application"], data=action.get("data", ""))
        else:
            fields.update(context=action.get("context", "default"), exten=action.get("exten", "s"))
            priority = scanInt(action.get("priority", "1"))  # Asterisk's sscanf
            fields["priority"] = 1 if priority is None else priority
        channel = self.addChannel(name, action.get("channelid") or None, state=0, **fields)
        for assignment in action.getAll("variable"):
            # Split as Asterisk does: like application arguments.
            for variable, value in variableValues(assignment.encode("utf-8", "surrogateescape")):
                channel.variables[variable.decode("utf-8", "surrogateescape")] = value.decode(
                    "utf-8", "surrogateescape")
        # As Asterisk does, before the reply: the channel is created down,
        # then answered (a ChannelTracker sees the call from these).
        self.emitEvent([("Event", "Newchannel"), ("Privilege", "call,all")] + channel.headers())
        channel.state = 6
        self.emitEvent([("Event", "Newstate"), ("Privilege", "call,all")] + channel.headers())
        return channel

    def newCounter(self) -> int:
        """A fresh number (bridge and recording ids)."""
        self._counter += 1
        return self._counter

    def newBridgeId(self) -> str:
        """A fresh bridge id, shaped like Asterisk's (a UUID)."""
        return "00000000-0000-4000-8000-%012x" % (self.newCounter(),)

    def deviceState(self, device: str) -> str:
        """The state of *device* (``NOT_INUSE``, ``INUSE``...): as set in
        :attr:`deviceStates`, else ``INUSE`` while a channel of the device
        is up, else ``NOT_INUSE``."""
        if device in self.deviceStates:
            return self.deviceStates[device]
        if any(deviceOf(name) == device for name in self.channels):
            return "INUSE"
        return "NOT_INUSE"

    def parkChannel(self, channel: FakeChannel, parkerDialString: str = "",
                    timeout: Optional[int] = None, lot: str = "default") -> FakeParkedCall:
        """Park *channel* in the first free space (701-720) and return the
        parked call; it stays parked until hung up.

        :raises ValueError: every space is taken.
        """
        taken = {parked.space for parked in self.parkedCalls()}
        space = next((s for s in self.parkingSpaces if s not in taken), None)
        if space is None:
            raise ValueError("no free parking space")
        parked = FakeParkedCall(channel.name, space, parkerDialString,
                                self.parkingTimeout if timeout is None else timeout,
                                self.clock.seconds(), lot)
        self._parked[channel.name] = parked
        return parked

    def parkedCalls(self) -> List[FakeParkedCall]:
        """The calls parked now (those whose channel is still up)."""
        for name in [n for n in self._parked if n not in self.channels]:
            del self._parked[name]
        return sorted(self._parked.values(), key=lambda parked: parked.space)

    # -- sessions and events ---------------------------------------------

    @property
    def sessions(self) -> List[FakeAMIServerProtocol]:
        """The open sessions, oldest first."""
        return list(self._sessions)

    def emitEvent(self, event: Union[str, Headers], session: Optional[FakeAMIServerProtocol] = None,
                  privilege: Optional[str] = None, **headers: object) -> int:
        """Send an event to every logged-in session that takes it (or to *session*).

        *event* is the event name (then *headers* follow, in order) or whole
        header pairs starting with ``Event``.  *privilege* adds a
        ``Privilege`` header (e.g. ``'call,all'``) after ``Event``, which
        also decides which users receive it.  Returns how many sessions it
        reached.
        """
        pairs = [("Event", event)] if isinstance(event, str) else headerPairs(event)
        if privilege is not None:
            pairs.insert(1, ("Privilege", privilege))
        pairs += headerPairs(headers)
        targets = [session] if session is not None else list(self._sessions)
        return sum(1 for target in targets if target.sendEvent(pairs))

    def disconnect(self, session: Optional[FakeAMIServerProtocol] = None, abort: bool = False) -> None:
        """Close *session*, or every session (cleanly, or at once with *abort*)."""
        for target in [session] if session is not None else list(self._sessions):
            target.disconnect(abort)

    def dropAll(self) -> None:
        """Abort every session, as a crashing Asterisk would."""
        self.disconnect(abort=True)

    def sessionOpened(self, session: FakeAMIServerProtocol) -> None:
        """A session connected (its ``connectionMade``)."""
        self._sessions.append(session)

    def sessionClosed(self, session: FakeAMIServerProtocol) -> None:
        """A session is gone (its ``connectionLost``)."""
        if session in self._sessions:
            self._sessions.remove(session)

    def scriptFailed(self, failure: Failure, action: Message) -> None:
        """A script raised or its Deferred failed: log it at ``ERROR`` with
        its traceback and keep it in :attr:`errors`."""
        logFailure(log, failure, "fake AMI: script for %r failed", action.get("action"))
        self.errors.append(failure)

    # -- TCP ---------------------------------------------------------------

    def listen(self, port: int = 0, interface: str = "127.0.0.1", reactor: Any = None) -> IListeningPort:
        """Listen on TCP *port* (0: any free one) of *interface*; returns the
        listening port (``.getHost().port`` is the number)."""
        if reactor is None:
            reactor = self._reactor if self._reactor is not None else self.clock
        self._reactor = reactor
        listening: IListeningPort = reactor.listenTCP(port, self, interface=interface)
        self.port = listening
        self._portNumber = listening.getHost().port  # type: ignore[attr-defined]
        self._interface = interface
        return listening

    def stopListening(self, drop: bool = True) -> defer.Deferred[None]:
        """Stop listening (and abort every session unless not *drop*)."""
        port, self.port = self.port, None
        if drop:
            self.dropAll()
        if port is None:
            return defer.succeed(None)
        stopped: Any = port.stopListening()
        return stopped if isinstance(stopped, defer.Deferred) else defer.succeed(None)

    def restart(self, delay: float = 0.0) -> defer.Deferred[IListeningPort]:
        """Stop listening, drop every session, and listen again on the same
        port after *delay* seconds on the clock; fires with the new port."""
        portNumber, interface = self._portNumber, self._interface

        def again(ignored: object) -> defer.Deferred[IListeningPort]:
            return defer.maybeDeferred(self.listen, portNumber, interface)

        def wait(ignored: object) -> defer.Deferred[None]:
            return _sleep(self.clock, delay)

        return self.stopListening().addCallback(wait).addCallback(again)


def _sleep(clock: IReactorTime, delay: float) -> defer.Deferred[None]:
    if delay <= 0:
        return defer.succeed(None)
    d: defer.Deferred[None] = defer.Deferred()
    clock.callLater(delay, d.callback, None)
    return d
