"""AsyncAGI on the fake Asterisk: channels in ``AGI(agi:async)`` driven over AMI.

:class:`FakeAsyncAGI` plays res_agi's AsyncAGI on a
:class:`FakeAMIServerFactory <starpy.testing.ami.FakeAMIServerFactory>`: it scripts
``Action: AGI`` and emits the events a real Asterisk 22 emits, in the same
order and with the same headers as in ``tests/fixtures/asyncagi*.txt``:

* ``AsyncAGIStart`` with the URL-encoded ``Env`` when a call starts;
* per command, ``Response: Success`` / ``Added AGI command to queue``, then
  ``AGIExecStart`` and ``AGIExecEnd`` with a random ``CommandId`` of
  Asterisk's own, then ``AsyncAGIExec`` with the URL-encoded ``Result`` and
  the client's ``CommandId`` as last header (none if the action had none);
* after ``ASYNCAGI BREAK`` or a hangup (then preceded by ``HangupRequest``),
  ``AsyncAGIEnd``, ``VarSet`` ``AGISTATUS`` and (by default) the channel's
  ``Hangup``;
* ``Response: Error`` with ``Channel ... does not exist.`` or ``Failed to
  add AGI command to channel ... queue`` as Asterisk answers.

The commands are answered by the fake AGI caller of
:mod:`starpy.testing.agi` (:class:`FakeAGICaller <starpy.testing.agi.FakeAGICaller>`)
running on a :class:`SimulatedChannel <starpy.testing.agi.SimulatedChannel>`,
connected through a :class:`MemoryConnection
<starpy.testing.memory.MemoryConnection>` instead of a socket: sound
lengths, DTMF at given times, hangup at a given time, variables, AstDB,
GOSUB, the 510/511/520 replies.  Time goes through the server's clock (a ``task.Clock`` in tests).

::

    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    fake = FakeAsyncAGI(server)
    ami, connection = loginInMemory(server, AMIFactory("starpy", "starpy-secret", reactor=clock))
    ...
    call = fake.startCall(SimulatedChannel(name="PJSIP/100-00000001", dtmf=[(2.0, "1")]))
    connection.flush()

Old Asterisk (11 and before) sent ``Event: AsyncAGI`` with ``SubEvent:
Start|Exec|End``: pass ``oldForm=True`` to emit that instead.

The fake runs as scripts of the fake AMI server, so an exception in it or in
the simulated channel's scripts (an ``EXEC`` application, a ``GOSUB``
subroutine, :attr:`FakeAsyncAGI.channelFactory`) while an action is answered
is a failed script: logged at ``ERROR`` on ``starpy.testing.ami`` and kept in
the server's ``errors``, which fails the test under StarPy's
``tests/conftest.py``.  One raised while the clock runs comes out of the
clock's ``advance``.
"""
from __future__ import annotations

import logging
import re
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple
from urllib.parse import quote

from twisted.internet.protocol import Protocol

from starpy.codec.ami import Message
from starpy.testing.agi import FakeAGICaller, SimulatedChannel
from starpy.testing.ami import (
    ActionError,
    FakeAMIServerFactory,
    FakeAMIServerProtocol,
    FakeChannel,
)
from starpy.testing.appargs import AGI_ARGUMENTS, separateAppArguments
from starpy.testing.memory import MemoryConnection

__all__ = ["FakeAsyncAGI", "FakeAsyncAGICall", "encode", "log"]

log = logging.getLogger("starpy.testing.asyncagi")

_FINAL = re.compile(r"(200|510|511|520) ")
_END_TEXT = {
    200: "Success",
    -1: "Failure",
    510: "Invalid or unknown command",
    511: "Command Not Permitted on a dead channel or intercept routine",
    520: "Usage",
}


def encode(text: str) -> str:
    """URL-encode *text* as Asterisk's ``ast_uri_encode`` (``ast_uri_http``)
    does for ``Env`` and ``Result``: letters, digits and ``()._-~`` stay."""
    return quote(text, safe="()")


class _ReplyLines(Protocol):
    """The far end of the fake AGI caller's in-memory connection: its reply
    lines go to the call instead of a socket."""

    def __init__(self) -> None:
        self.onLine: Optional[Callable[[str], None]] = None
        self._partial = b""

    def dataReceived(self, data: bytes) -> None:
        if self.onLine is None:
            return  # the environment block: AsyncAGI sends it as Env instead
        self._partial += data
        while b"\n" in self._partial:
            line, self._partial = self._partial.split(b"\n", 1)
            self.onLine(line.decode("utf-8", "surrogateescape"))

    def send(self, line: str) -> None:
        assert self.transport is not None
        self.transport.write(line.encode("utf-8", "surrogateescape") + b"\n")


class FakeAsyncAGICall:
    """One channel in ``AGI(agi:async)`` on the fake Asterisk.

    :ivar channel: the :class:`SimulatedChannel <starpy.testing.agi.SimulatedChannel>`.
    :ivar fakeChannel: the server's :class:`FakeChannel <starpy.testing.ami.FakeChannel>`.
    :ivar caller: the :class:`FakeAGICaller <starpy.testing.agi.FakeAGICaller>` answering
        the commands (its ``transcript`` lists them with their replies).
    :ivar executed: ``(command, CommandID or None, decoded Result)`` of each
        command run, in order.
    :ivar ended: whether ``AsyncAGIEnd`` was sent.
    :ivar agiStatus: ``AGISTATUS`` at the end (``SUCCESS`` or ``HANGUP``).
    """

    def __init__(self, fake: "FakeAsyncAGI", channel: SimulatedChannel,
                 fakeChannel: FakeChannel) -> None:
        self.fake = fake
        self.channel = channel
        self.fakeChannel = fakeChannel
        self.executed: List[Tuple[str, Optional[str], str]] = []
        self.ended = False
        self.agiStatus = "SUCCESS"
        self._hangupRequested = False
        self._queue: Deque[Tuple[str, Optional[str]]] = deque()
        self._current: Optional[Tuple[str, Optional[str], str]] = None
        self._lines: List[str] = []
        self._replies = _ReplyLines()
        self.caller = FakeAGICaller(channel, fake.server.clock)
        # Delivered as written: each reply line reaches the call at once.
        self._connection = MemoryConnection(self._replies, self.caller, immediate=True)
        self._replies.onLine = self._lineWritten

    @property
    def name(self) -> str:
        """The channel's name."""
        return self.fakeChannel.name

    def __repr__(self) -> str:
        return "<FakeAsyncAGICall %s%s>" % (self.name, " ended" if self.ended else "")

    # -- what the test does ----------------------------------------------------

    def hangup(self) -> None:
        """The caller hangs up now: a running command ends (``result=-1``),
        then ``AsyncAGIEnd`` and ``Hangup`` follow."""
        if self.ended:
            return
        self.channel.hangup()
        if not self.ended:
            self._end("HANGUP")

    # -- events ------------------------------------------------------------------

    def _headers(self) -> List[Tuple[str, str]]:
        self.fakeChannel.state = self.channel.state
        return self.fakeChannel.headers()

    def _emit(self, name: str, *tail: Tuple[str, str]) -> None:
        self.fake.server.emitEvent([("Event", name), ("Privilege", "agi,all")]
                                   + self._headers() + list(tail))

    def _emitOld(self, subEvent: str, *tail: Tuple[str, str]) -> None:
        self.fake.server.emitEvent([("Event", "AsyncAGI"), ("Privilege", "agi,all"),
                                    ("SubEvent", subEvent), ("Channel", self.name)]
                                   + list(tail))

    def _started(self) -> None:
        pairs = [(key, value) for key, value in self.channel.environment()
                 if key not in ("agi_network", "agi_network_script")]
        env = encode("".join("%s: %s\n" % pair for pair in pairs) + "\n")
        if self.fake.oldForm:
            self._emitOld("Start", ("Env", env))
        else:
            self._emit("AsyncAGIStart", ("Env", env))

    # -- commands ------------------------------------------------------------------

    def _add(self, command: str, commandID: Optional[str]) -> None:
        self._queue.append((command, commandID))
        self._next()

    def _next(self) -> None:
        if self._current is not None or self.ended or not self._queue:
            return
        if self.channel.hungUp:
            self._end("HANGUP")
            return
        command, commandID = self._queue.popleft()
        asteriskID = str(self.fake.server.random.randrange(1, 2 ** 31))
        self._current = (command, commandID, asteriskID)
        self._lines = []
        if not self.fake.oldForm:
            self._emit("AGIExecStart", ("CommandId", asteriskID), ("Command", command))
        self._replies.send(command)

    def _lineWritten(self, line: str) -> None:
        if line == "HANGUP":
            # FastAGI's unsolicited line: AsyncAGI has none, the loop just ends.
            if self._current is None:
                self._end("HANGUP")
            return
        if self._current is None:
            log.warning("fake AsyncAGI %s: stray reply line %r", self.name, line)
            return
        self._lines.append(line)
        if _FINAL.match(line):
            self._commandDone()

    def _commandDone(self) -> None:
        assert self._current is not None
        command, commandID, asteriskID = self._current
        self._current = None
        result = "".join(line + "\n" for line in self._lines)
        last = self._lines[-1]
        code = int(last[:3])
        if code == 200 and "result=-1" in last.split():
            code = -1
        self.executed.append((command, commandID, result))
        if self.channel.hungUp:
            self._hangupRequest()
        tail = [("Result", encode(result))]
        if commandID is not None:
            tail.append(("CommandId" if not self.fake.oldForm else "CommandID", commandID))
        if self.fake.oldForm:
            self._emitOld("Exec", *reversed(tail))
        else:
            self._emit("AGIExecEnd", ("CommandId", asteriskID), ("Command", command),
                       ("ResultCode", str(code)), ("Result", _END_TEXT.get(code, "Failure")))
            self._emit("AsyncAGIExec", *tail)
        if command.split()[:2] and [w.upper() for w in command.split()[:2]] == ["ASYNCAGI", "BREAK"]:
            self._end("SUCCESS")
        elif self.channel.hungUp:
            self._end("HANGUP")
        else:
            self._next()

    def _end(self, status: str) -> None:
        if self.ended:
            return
        self.ended = True
        self.agiStatus = status
        self._queue.clear()
        self._current = None
        if status == "HANGUP":
            self._hangupRequest()
        if self.fake.oldForm:
            self._emitOld("End")
        else:
            self._emit("AsyncAGIEnd")
        self.fake.server.emitEvent(
            [("Event", "VarSet"), ("Privilege", "dialplan,all")] + self._headers()
            + [("Variable", "AGISTATUS"), ("Value", status)])
        self.fake._callEnded(self)
        self._replies.onLine = None
        # The caller may be inside a command right now (this runs from its
        # write): close it once its stack has unwound.
        self.fake.server.clock.callLater(0, self._closeCaller)
        if status == "HANGUP" or self.fake.hangupAfterBreak:
            self.fake.server.hangupChannel(self.name, 16)


    def _hangupRequest(self) -> None:
        if not self._hangupRequested:
            self._hangupRequested = True
            self.fake.server.emitEvent(
                [("Event", "HangupRequest"), ("Privilege", "call,all")] + self._headers()
                + [("Cause", "16")])

    def _closeCaller(self) -> None:
        self._connection.serverTransport.loseConnection()


class FakeAsyncAGI:
    """AsyncAGI on a fake AMI server: scripts ``Action: AGI`` (and, with
    *originate*, ``Originate`` into ``AGI(agi:async)``).

    :param server: the :class:`FakeAMIServerFactory <starpy.testing.ami.FakeAMIServerFactory>`.
    :param oldForm: emit Asterisk 11's ``Event: AsyncAGI``/``SubEvent``.
    :param originate: answer an ``Originate`` with ``Application: AGI`` and
        ``Data: agi:async...`` by starting an AsyncAGI call on the new
        channel (other originates behave as without this class).

    :ivar calls: the calls in AsyncAGI, by channel name.
    :ivar finished: the calls that have ended, in order.
    :ivar hangupAfterBreak: after ``ASYNCAGI BREAK`` the dialplan runs on;
        with nothing after ``AGI()`` the channel hangs up (default ``True``).
    :ivar channelFactory: ``channelFactory(originateAction)`` gives the
        :class:`SimulatedChannel <starpy.testing.agi.SimulatedChannel>` of an originated call
        (its name and Uniqueid are then set from the new channel).
    """

    def __init__(self, server: FakeAMIServerFactory, oldForm: bool = False,
                 originate: bool = True) -> None:
        self.server = server
        self.oldForm = oldForm
        self.hangupAfterBreak = True
        self.calls: Dict[str, FakeAsyncAGICall] = {}
        self.finished: List[FakeAsyncAGICall] = []
        self.channelFactory: Callable[[Message], SimulatedChannel] = (
            lambda action: SimulatedChannel())
        server.script("AGI", self._action, privilege="agi")
        if originate:
            server.script("Originate", self._originate)

    def stop(self) -> None:
        """Unscript the actions (the built-in Originate is back)."""
        self.server.unscript("AGI")
        self.server.unscript("Originate")

    def startCall(self, channel: Optional[SimulatedChannel] = None, linkedid: str = "",
                  fakeChannel: Optional[FakeChannel] = None) -> FakeAsyncAGICall:
        """A channel enters ``AGI(agi:async)`` now: ``AsyncAGIStart`` is sent.

        :param channel: the simulated channel (name, Uniqueid, context,
            extension, priority, DTMF and hangup schedule...); a default one
            if ``None``.  Its schedule counts from now.
        :param fakeChannel: the server's channel, if it exists already;
            otherwise one is added with the simulated channel's identity.
        """
        channel = channel if channel is not None else SimulatedChannel(request="async")
        if channel.request.startswith("agi://"):
            channel.request = "async"
        if fakeChannel is None:
            fakeChannel = self.server.addChannel(
                channel.name, channel.uniqueId, linkedid=linkedid, state=channel.state,
                context=channel.context, exten=channel.extension, priority=channel.priority,
                callerIDNum=channel.callerId or "<unknown>",
                callerIDName=channel.callerIdName or "<unknown>",
                language=channel.language, accountCode=channel.accountCode)
        fakeChannel.application, fakeChannel.data = "AGI", "agi:async"
        call = FakeAsyncAGICall(self, channel, fakeChannel)
        self.calls[fakeChannel.name] = call
        call._started()
        return call

    # -- scripts -------------------------------------------------------------------

    def _action(self, session: FakeAMIServerProtocol, action: Message) -> None:
        name = action.get("channel")
        if not name:
            raise ActionError("Channel not specified")
        if name not in self.server.channels:
            raise ActionError("Channel %s does not exist." % (name,))
        call = self.calls.get(name)
        if call is None:
            raise ActionError("Failed to add AGI command to channel %s queue" % (name,))
        command = action.get("command")
        if not command:
            raise ActionError("Command not specified")
        session.respond(action, [("Message", "Added AGI command to queue")])
        call._add(command, action.get("commandid"))

    def _originate(self, session: FakeAMIServerProtocol, action: Message) -> Any:
        before = set(self.server.channels)
        result = session.defaultAnswer(action)
        data = action.get("data", "")
        if (action.get("application", "").lower() != "agi"
                or not data.lower().startswith("agi:async")):
            return result
        created = [channel for name, channel in self.server.channels.items()
                   if name not in before]
        if created:
            fakeChannel = created[0]
            channel = self.channelFactory(action)
            channel.name = fakeChannel.name
            channel.uniqueId = fakeChannel.uniqueid
            channel.channelType = fakeChannel.name.split("/", 1)[0]
            channel.request = "async"
            # AGI() splits its data as Asterisk splits application arguments.
            pieces = separateAppArguments(data.encode("utf-8", "surrogateescape"), AGI_ARGUMENTS)
            channel.arguments = [piece.decode("utf-8", "surrogateescape") for piece in pieces[1:]]
            self.startCall(channel, fakeChannel.linkedid, fakeChannel)
        return result

    def _callEnded(self, call: FakeAsyncAGICall) -> None:
        if self.calls.get(call.name) is call:
            del self.calls[call.name]
        self.finished.append(call)
