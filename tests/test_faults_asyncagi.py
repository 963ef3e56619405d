"""AsyncAGI under faults (issue 8): the caller hangs up at every step of a
scripted session, the AMI connection drops, the dispatcher stops mid-call.

Everything runs in memory on one ``task.Clock`` (the fake Asterisk's and the
client's), so each case is exact and nothing sleeps.  Outcomes are collected
into lists and asserted here, never inside a handler (a failing assertion
there would only be logged).
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional

import pytest
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import asyncagi, error, manager
from starpy.codec.ami import Message
from starpy.testing.agi import SimulatedChannel
from starpy.testing.ami import FakeAMIServerFactory, FakeAMIServerProtocol, loginInMemory
from starpy.testing.asyncagi import FakeAsyncAGI
from starpy.testing.pytest_plugin import LoggedErrors

from .test_asyncagi import advance

# -- the scripted session ------------------------------------------------------------

#: What the handler sends, in order (the fake's spelling of each command).
SCRIPT = [
    "ANSWER",
    "GET VARIABLE CALLERID(num)",
    "SET VARIABLE STEP 3",
    "STREAM FILE hello-world #",
    "WAIT FOR DIGIT 2000",
    "DATABASE PUT faults step 6",
    'SAY NUMBER 42 ""',
    "VERBOSE done 3",
]

#: Commands that take time on the channel: a hangup cuts them short.
TIMED = ("STREAM FILE", "WAIT FOR DIGIT", "SAY NUMBER")

STEPS = range(len(SCRIPT) + 1)


async def scripted(agi: asyncagi.AsyncAGISession) -> None:
    await agi.answer()
    await agi.getVariable("CALLERID(num)")
    await agi.setVariable("STEP", "3")
    await agi.streamFile("hello-world", "#")
    await agi.waitForDigit(2.0)
    await agi.databaseSet("faults", "step", "6")
    await agi.sayNumber(42)
    await agi.verbose("done", 3)


class Rig:
    """The fake Asterisk with AsyncAGI, a logged-in client, a dispatcher
    running :func:`scripted`, and a hook on ``Action: AGI``.

    :ivar outcomes: what each handler's Deferred ended with (``None`` or a
        :class:`Failure`), in order.
    :ivar sessions: the sessions the handler was given.
    """

    def __init__(self, username: str = "starpy", secret: str = "starpy-secret",
                 handler: Callable[[asyncagi.AsyncAGISession], Any] = scripted) -> None:
        self.clock = task.Clock()
        self.server = FakeAMIServerFactory(clock=self.clock, seed=8)
        # A user allowed only the "agi" read class: it sees AsyncAGIExec and
        # AsyncAGIEnd, but neither HangupRequest nor Hangup (class "call").
        self.server.addUser("agionly", "agionly-secret", read="agi")
        self.fake = FakeAsyncAGI(self.server)
        self.ami, self.connection = loginInMemory(
            self.server, manager.AMIFactory(username, secret, reactor=self.clock))
        self.events: List[str] = []
        self.watch = self.ami.registerEvent(None, lambda ami, event: self.events.append(
            event["event"]))
        self.ownHandlers = len(self.ami.dispatcher)  # what the test registered
        self.outcomes: List[Any] = []
        self.sessions: List[asyncagi.AsyncAGISession] = []
        self.agiActions = 0
        self.beforeAction: Optional[Callable[[FakeAMIServerProtocol, Message], bool]] = None

        def record(outcome: Any) -> Any:
            self.outcomes.append(outcome)
            return outcome  # a failure goes on to the dispatcher, which logs it

        def main(agi: asyncagi.AsyncAGISession) -> Deferred[Any]:
            self.sessions.append(agi)
            return Deferred.fromCoroutine(handler(agi)).addBoth(record)

        self.dispatcher = asyncagi.AsyncAGIDispatcher(self.ami, main, clock=self.clock)
        self.dispatcher.startService()
        self.server.script("AGI", self._agiAction, privilege="agi")

    def _agiAction(self, session: FakeAMIServerProtocol, action: Message) -> None:
        self.agiActions += 1
        if self.beforeAction is not None and self.beforeAction(session, action):
            return
        self.fake._action(session, action)

    def run(self, seconds: float = 0.0) -> None:
        advance(self.clock, self.connection, seconds)

    def assertNothingLeft(self) -> None:
        """No session, command, pending action or timer; after
        ``stopService()`` only the test's own event handler and no
        ``whenClosed`` waiter of the library are left on the AMI protocol."""
        assert self.dispatcher.sessions == {}
        assert self.dispatcher._commands == {}
        assert self.dispatcher._waiters == {}
        for session in self.sessions:
            assert session.closed
            assert session.pendingCount == 0
        assert self.ami.pendingCount == 0
        assert self.clock.getDelayedCalls() == []
        self.dispatcher.stopService()
        assert len(self.ami.dispatcher) == self.ownHandlers
        assert len(self.ami._closed._waiters) == 0
        self.watch.cancel()
        assert len(self.ami.dispatcher) == 0
        assert self.server.errors == []


# -- hangup at every step --------------------------------------------------------------

#: How the end of the call reaches the client:
#:
#: ``end-only``: AsyncAGIEnd alone (a user with the ``agi`` read class only);
#: ``hangup-events``: Asterisk's order, HangupRequest, (the cut command's
#: AsyncAGIExec), AsyncAGIEnd, VarSet, Hangup;
#: ``hangup-first``: Hangup and HangupRequest before AsyncAGIEnd;
#: ``ami-drop``: the AMI connection drops (the channel itself stays up).
HOWS = ["end-only", "hangup-events", "hangup-first", "ami-drop"]


def hangUpAt(rig: Rig, step: int, how: str) -> List[str]:
    """Make the fault happen as the ``step + 1``-th ``Action: AGI`` reaches
    the fake Asterisk, that is once *step* commands have been answered.

    For a hangup: a command that plays or waits has started and is cut short
    (``200 result=-1``, as Asterisk answers it); any other finds the channel
    gone and is refused.  For ``ami-drop``: the command reaches Asterisk and
    runs, but nothing comes back before the connection drops.  Returns the
    commands that met the fault (filled in when it happens).
    """
    met: List[str] = []

    def before(session: FakeAMIServerProtocol, action: Message) -> bool:
        if rig.agiActions != step + 1:
            return False
        command = action["command"]
        met.append(command)
        call = rig.fake.calls[action["channel"]]
        if how == "ami-drop":
            rig.fake._action(session, action)
            rig.server.dropAll()
            return True
        timed = command.startswith(TIMED)
        if timed:
            rig.fake._action(session, action)
        if how == "hangup-first":
            rig.server.hangupChannel(call.name)  # Hangup now, AsyncAGIEnd below
        call.hangup()
        if not timed:
            rig.fake._action(session, action)
        return True

    rig.beforeAction = before
    return met


def expectedOutcome(step: int, how: str) -> Optional[str]:
    """What the handler ends with, as Asterisk would make it end: ``None``
    (completed), or the name and text of its failure."""
    if step == len(SCRIPT):
        return None  # the fault meets ASYNCAGI BREAK: the handler had completed
    if how == "ami-drop":
        return "AGIHangup: AMI connection lost"
    if how == "hangup-first":
        return "AGIHangup: channel hung up"
    if SCRIPT[step].startswith(TIMED):
        return "AGICommandFailure"  # the command in flight ends with result=-1
    return "AGIHangup: AsyncAGI ended (AsyncAGIEnd)"


def describe(outcome: Any) -> Optional[str]:
    if not isinstance(outcome, Failure):
        return None if outcome is None else repr(outcome)
    name = type(outcome.value).__name__
    if outcome.check(error.AGICommandFailure) and not outcome.check(error.AGIHangup):
        return name
    return "%s: %s" % (name, getattr(outcome.value, "text", outcome.getErrorMessage()))


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("step", STEPS)
def test_hangupAtEveryStepLeavesNothingPending(step: int, how: str,
                                               loggedErrors: LoggedErrors) -> None:
    rig = Rig(*(("agionly", "agionly-secret") if how == "end-only" else ()))
    met = hangUpAt(rig, step, how)
    call = rig.fake.startCall(SimulatedChannel(name="PJSIP/fault-00000001",
                                               uniqueId="1700000100.1", request="async"))
    rig.run(60)
    # The fault met the command it was meant to meet.
    assert met == (SCRIPT + ["ASYNCAGI BREAK"])[step:step + 1]
    ran = [command for command, _, _ in call.executed]
    if how == "ami-drop":
        assert ran == (SCRIPT + ["ASYNCAGI BREAK"])[:step + 1]
        # Unless ASYNCAGI BREAK got through, the channel is still in AsyncAGI...
        assert call.ended == (step == len(SCRIPT))
        call.hangup()  # ...until its caller hangs up, unseen by the client
        rig.run(60)
    else:
        assert ran == SCRIPT[:step] + [c for c in SCRIPT[step:step + 1] if c.startswith(TIMED)]
        assert call.ended and call.agiStatus == "HANGUP"

    # The handler ended, as Asterisk would make it end.
    assert len(rig.outcomes) == 1
    assert describe(rig.outcomes[0]) == expectedOutcome(step, how)
    (agi,) = rig.sessions
    assert agi.closed
    assert agi.hungUp == (how in ("hangup-events", "hangup-first"))
    # A failed handler is logged with its traceback; a completed one is not.
    logged = loggedErrors.flush(match="AsyncAGI handler failed on PJSIP/fault-00000001")
    assert len(logged) == (1 if step < len(SCRIPT) else 0)
    if logged:
        assert "Traceback" in logged[0].text
        assert str(expectedOutcome(step, how)).split(":")[0] in logged[0].text
    # Later commands fail at once and send nothing.
    sent = rig.agiActions
    assert isinstance(failureOf(agi.answer()).value, error.AGIHangup)
    rig.run(0)
    assert rig.agiActions == sent
    rig.assertNothingLeft()


def failureOf(d: Deferred[Any]) -> Failure:
    out: List[Any] = []
    d.addBoth(out.append)
    assert out and isinstance(out[0], Failure), out
    return out[0]


def test_matrixSize() -> None:
    """The matrix covers the step before each command and after the last,
    for every way the end can arrive."""
    assert len(STEPS) * len(HOWS) == 36


# -- the dispatcher stopped with calls in progress ----------------------------------------


async def patient(agi: asyncagi.AsyncAGISession) -> None:
    await agi.answer()
    playing = agi.streamFile("long")  # in flight when the dispatcher stops
    queued = agi.sayNumber(7)  # waiting behind it
    try:
        await playing
    finally:
        try:
            await queued
        except error.AGIHangup:
            pass


def test_stopWithCallsInProgressFinishesThemCleanly(loggedErrors: LoggedErrors) -> None:
    """Stopping the dispatcher finishes each call in progress cleanly:

    * every session is closed and the dispatcher holds none;
    * each handler's command in flight, and the one queued behind it, fail
      with :class:`~starpy.error.AGIHangup` naming the stop; later commands
      fail at once without anything sent;
    * no command, AMI action, ``whenClosed`` waiter or timer is left, and
      only the test's own event handler is registered;
    * the channels are not touched (no ``ASYNCAGI BREAK``, no ``Hangup``
      action): they stay in AsyncAGI for whoever takes them next.
    """
    rig = Rig(handler=patient)
    calls = [rig.fake.startCall(SimulatedChannel(
        name="PJSIP/stop-%08d" % n, uniqueId="1700000200.%d" % n, request="async",
        sounds={"long": 60.0})) for n in range(3)]
    rig.run(1)
    assert len(rig.dispatcher.sessions) == 3 and rig.outcomes == []
    rig.dispatcher.stopService()
    rig.run(0)
    assert [describe(o) for o in rig.outcomes] == ["AGIHangup: AsyncAGI dispatcher stopped"] * 3
    # patient() lets the hangup escape: each handler is logged as failed.
    logged = loggedErrors.flush(match="AGIHangup: .*AsyncAGI dispatcher stopped")
    assert [e.message.splitlines()[0] for e in logged] == [
        "AsyncAGI handler failed on PJSIP/stop-%08d" % n for n in range(3)]
    assert all(agi.closed and not agi.hungUp for agi in rig.sessions)
    assert rig.dispatcher.sessions == {} and rig.dispatcher._commands == {}
    assert rig.ami.pendingCount == 0
    assert len(rig.ami.dispatcher) == rig.ownHandlers
    assert len(rig.ami._closed._waiters) == 0
    sent = rig.agiActions
    assert isinstance(failureOf(rig.sessions[0].answer()).value, error.AGIHangup)
    rig.run(0)
    assert rig.agiActions == sent == 6  # ANSWER and STREAM FILE per call, nothing after
    for call in calls:
        assert not call.ended
        assert [c for c, _, _ in call.executed] == ["ANSWER"]
    # The channels play on; their callers hang up later, unseen by the stopped dispatcher.
    for call in calls:
        call.hangup()
    events = len(rig.events)
    rig.run(60)
    assert len(rig.events) > events and rig.outcomes and len(rig.outcomes) == 3
    assert all(call.agiStatus == "HANGUP" for call in calls)
    rig.assertNothingLeft()


def test_restartedDispatcherWatchesTheConnectionAgain(loggedErrors: LoggedErrors) -> None:
    """stop then start: the sessions of the restarted dispatcher still end
    when the AMI connection drops."""
    rig = Rig(handler=patient)
    rig.dispatcher.stopService()
    assert len(rig.ami._closed._waiters) == 0
    rig.dispatcher.startService()
    rig.fake.startCall(SimulatedChannel(name="PJSIP/again-1", uniqueId="1700000300.1",
                                        request="async", sounds={"long": 60.0}))
    rig.run(1)
    assert len(rig.ami._closed._waiters) == 1
    rig.server.dropAll()
    rig.run(0)
    assert [describe(o) for o in rig.outcomes] == ["AGIHangup: AMI connection lost"]
    [logged] = loggedErrors.flush(match="AGIHangup: .*AMI connection lost")
    assert logged.message.startswith("AsyncAGI handler failed on PJSIP/again-1")
    for call in list(rig.fake.calls.values()):
        call.hangup()
    rig.run(60)
    rig.assertNothingLeft()
