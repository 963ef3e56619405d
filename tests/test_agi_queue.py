"""The AGI layer's seams: the command queue's public interface, what transports
and the AsyncAGI dispatcher offer each other, and the shape of the package."""
from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from twisted.internet import defer, task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import agi, asyncagi, error, fastagi
from starpy.agi import CommandQueue, QueuedCommand
from starpy.codec import agi as codec
from starpy.codec.agi import AGIReply, dialplanArguments, parseReplyText
from starpy.codec.ami import Message

from .deferreds import failure

ROOT = Path(__file__).resolve().parent.parent / "starpy"


def reply(text: str = "200 result=0") -> AGIReply:
    return parseReplyText(text)


class Wire:
    """A queue's transmit function that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: List[QueuedCommand] = []

    def __call__(self, command: QueuedCommand) -> None:
        self.sent.append(command)

    def lines(self) -> List[str]:
        return [command.line for command in self.sent]


def collect(*deferreds: "Deferred[Any]") -> List[Any]:
    out: List[Any] = []
    for d in deferreds:
        d.addBoth(lambda v: out.append(v.type if isinstance(v, Failure) else v))
    return out


# -- CommandQueue: submit, reply, order ------------------------------------------------


def test_oneCommandInFlightTheOthersWaitInOrder() -> None:
    wire = Wire()
    queue = CommandQueue(wire)
    first, second, third = (queue.submit(line) for line in ("ANSWER", "NOOP", "HANGUP"))
    assert wire.lines() == ["ANSWER"] and queue.pendingCount == 3
    assert queue.inFlight is wire.sent[0]
    out = collect(first, second, third)
    assert queue.replyArrived(reply("200 result=0"))
    assert wire.lines() == ["ANSWER", "NOOP"] and len(out) == 1
    assert queue.replyArrived(reply("200 result=0"))
    assert queue.replyArrived(reply("200 result=1"))
    assert [r.result for r in out] == ["0", "0", "1"]
    assert queue.inFlight is None and queue.pendingCount == 0
    assert not queue.replyArrived(reply())  # nothing in flight: answers nothing


def test_aCheckedCommandFiresWithWhatSettleMadeOfItsReply() -> None:
    settled: List[Tuple[Any, str]] = []

    def settle(outcome: Any, command: QueuedCommand) -> Any:
        settled.append((outcome, command.line))
        return int(outcome.result) * 10

    wire = Wire()
    queue = CommandQueue(wire, settle)
    checked = queue.submit("WAIT FOR DIGIT 1000", b"WAIT FOR DIGIT 1000\n", (None, True))
    plain = queue.submit("NOOP")
    assert wire.sent[0].data == b"WAIT FOR DIGIT 1000\n"
    out = collect(checked, plain)
    queue.replyArrived(reply("200 result=4"))
    queue.replyArrived(reply("200 result=0"))
    assert out[0] == 40 and isinstance(out[1], AGIReply)
    assert [line for _, line in settled] == ["WAIT FOR DIGIT 1000"]


def test_completeAnswersTheGivenCommandAndSendsTheNext() -> None:
    wire = Wire()
    queue = CommandQueue(wire)
    first, second = queue.submit("ANSWER"), queue.submit("NOOP")
    out = collect(first, second)
    queue.complete(wire.sent[0], Failure(error.AsyncAGIRejected("ANSWER", "no", None)))
    assert out == [error.AsyncAGIRejected] and wire.lines() == ["ANSWER", "NOOP"]
    queue.complete(wire.sent[0], reply())  # answered already: nothing happens
    assert len(out) == 1 and queue.inFlight is wire.sent[1]


def test_completeLineSettlesFromTheLineOrFromTheParsedReply() -> None:
    """completeLine (issue 14): a checked command's line goes to settleLine;
    NOT_CONVERTED, an unchecked command or no settleLine: the parsed reply,
    as complete() gives it."""
    fromLines: List[str] = []

    def settleLine(line: str, command: QueuedCommand) -> Any:
        fromLines.append(line)
        return "from line" if line == "200 result=1" else agi.NOT_CONVERTED

    def settle(outcome: Any, command: QueuedCommand) -> Any:
        return ("parsed", outcome)

    wire = Wire()
    queue = CommandQueue(wire, settle, settleLine=settleLine)
    ds = [queue.submit("A", None, (None, True)), queue.submit("B", None, (None, True)),
          queue.submit("C"), queue.submit("D", None, (None, True))]
    out = collect(*ds)
    queue.completeLine(wire.sent[0], "200 result=1")
    queue.completeLine(wire.sent[1], "200 result=0 endpos=2")
    queue.completeLine(wire.sent[2], "200 result=1 (x)")
    assert wire.lines() == ["A", "B", "C", "D"]
    assert out[:2] == ["from line", ("parsed", reply("200 result=0 endpos=2"))]
    assert out[2] == reply("200 result=1 (x)")
    assert fromLines == ["200 result=1", "200 result=0 endpos=2"]
    queue.failAll("gone")  # lets settleLine go: a late line is parsed, not settled
    queue.completeLine(wire.sent[3], "200 result=1")
    assert out[3] == error.AGIHangup and fromLines == ["200 result=1", "200 result=0 endpos=2"]
    plain = CommandQueue(wire, settle)
    d = plain.submit("E", None, (None, True))
    plain.completeLine(wire.sent[-1], "200 result=1")
    assert collect(d) == [("parsed", reply("200 result=1"))]


def test_cancellingAWaitingCommandRemovesItAndNotesIt() -> None:
    notes: List[str] = []

    def settle(outcome: Any, command: QueuedCommand) -> Any:
        notes.append("%s: %s" % (command.line, outcome.getErrorMessage()))
        return outcome

    wire = Wire()
    queue = CommandQueue(wire, settle)
    inFlight = queue.submit("ANSWER", None, (None, True))
    waiting = queue.submit("STREAM FILE x", None, (None, True))
    out = collect(inFlight, waiting)
    waiting.cancel()
    assert out == [defer.CancelledError] and queue.pendingCount == 1
    inFlight.cancel()  # cannot be unsent: it stays in flight, its reply dropped
    assert queue.inFlight is not None and queue.pendingCount == 1
    queue.replyArrived(reply())
    assert out == [defer.CancelledError] * 2 and wire.lines() == ["ANSWER"]
    assert len(notes) == 2 and queue.pendingCount == 0


def test_dropWaitingFailsTheQueuedCommandsNotTheOneInFlight() -> None:
    wire = Wire()
    queue = CommandQueue(wire)
    out = collect(queue.submit("ANSWER"), queue.submit("NOOP"), queue.submit("VERBOSE x"))
    queue.dropWaiting("finished")
    assert out == [error.AGIHangup, error.AGIHangup] and queue.pendingCount == 1
    queue.replyArrived(reply())
    assert len(out) == 3 and wire.lines() == ["ANSWER"]


def test_failAllClosesTheQueueAndLetsItsFunctionsGo() -> None:
    wire = Wire()
    queue = CommandQueue(wire, lambda outcome, command: outcome)
    out = collect(queue.submit("ANSWER"), queue.submit("NOOP"))
    queue.failAll("connection lost")
    assert out == [error.AGIHangup, error.AGIHangup] and queue.closed
    reason = failure(queue.submit("NOOP"))
    assert reason.check(error.AGIHangup) and wire.lines() == ["ANSWER"]
    assert queue.pendingCount == 0 and not queue.replyArrived(reply())
    # Nothing of the session is kept: no reference cycle survives it.
    assert wire not in gc.get_referents(queue)
    queue.failAll("again")  # idempotent


# -- the hangup policy -----------------------------------------------------------------


@pytest.mark.parametrize("sendAfterHangup", [True, False])
def test_hangupPolicyDecidesWhatWaitingCommandsStillGoOut(sendAfterHangup: bool) -> None:
    notes: List[Any] = []
    wire = Wire()
    queue = CommandQueue(wire, lambda outcome, command: notes.append(outcome),
                         sendWaitingAfterHangup=sendAfterHangup)
    queue.submit("ANSWER")
    out = collect(queue.submit("STREAM FILE x", None, (None, True)),
                  queue.submit("GET VARIABLE X"))
    queue.hangupReceived()
    assert queue.hungUp
    queue.replyArrived(reply())
    if sendAfterHangup:
        assert wire.lines() == ["ANSWER", "STREAM FILE x"] and out == []
    else:  # STREAM FILE fails unsent; the dead-safe GET VARIABLE goes out
        assert wire.lines() == ["ANSWER", "GET VARIABLE X"]
        assert out == [error.AGIHangup]
        assert notes == ["(not sent: the channel has hung up)"]


def test_deadSafeCommandsAreThoseResAgiMarks() -> None:
    assert agi.isDeadSafe("GET VARIABLE X") and agi.isDeadSafe("exec Dial")
    assert not agi.isDeadSafe("STREAM FILE x ''") and not agi.isDeadSafe("EXECUTE")


def test_aCommandIsNamedAsResAgiSplitsItsWords() -> None:
    """One reading of a line's command (codec.agi.commandName) for the
    hangup policy and the metrics: words split at runs of blanks, any case."""
    assert codec.commandName("get  full\tvariable ${X}") == "GET FULL VARIABLE"
    assert codec.commandName("DATABASE DELTREE fam") == "DATABASE DELTREE"
    assert codec.commandName("MADE UP") == "other"
    assert agi.isDeadSafe("get  variable X") and not agi.isDeadSafe("STREAM\tFILE x")


# -- the per-command deadline ----------------------------------------------------------


def test_theCommandInFlightGetsItsDeadlineTheNextOneItsOwn() -> None:
    clock = task.Clock()
    expired: List[Tuple[str, float]] = []
    wire = Wire()
    queue = CommandQueue(wire, expired=lambda command, seconds: expired.append(
        (command.line, seconds)))
    queue.setTimeout(5.0, clock)
    assert queue.timeout == 5.0
    out = collect(queue.submit("ANSWER"), queue.submit("NOOP"))
    clock.advance(4)
    queue.replyArrived(reply())
    clock.advance(4)  # 8 s in, NOOP's deadline is at 9
    assert expired == [] and len(out) == 1
    clock.advance(1)
    assert expired == [("NOOP", 5.0)] and out[1] is error.AGICommandTimeout
    assert clock.getDelayedCalls() == [] and queue.inFlight is None


def test_noTimeoutNoTimer() -> None:
    clock = task.Clock()
    queue = CommandQueue(Wire())
    queue.setTimeout(5.0, clock)
    queue.submit("ANSWER")
    queue.setTimeout(None, None)
    assert queue.timeout is None and clock.getDelayedCalls() == []


# -- sessions own a queue; transports feed it ----------------------------------------------


def test_aFastAGISessionIsFreedWithoutTheGarbageCollector() -> None:
    from tests.test_fastagi import Server, env

    server = Server(lambda agi: Deferred())
    server.feed(env())
    answered = server.agi.answer()  # in flight when the connection ends
    server.agi.commandTimeout = 30
    server.close()
    assert failure(answered).check(error.AGIHangup)
    ref = weakref.ref(server.agi)
    enabled = gc.isenabled()
    gc.disable()
    try:
        server.factory = server.agi = server.transport = None  # type: ignore[assignment]
        assert ref() is None
    finally:
        if enabled:
            gc.enable()


def test_sessionsHaveTheirQueueAndItsCount() -> None:
    from tests.test_fastagi import started

    server = started()
    assert isinstance(server.agi.commands, CommandQueue)
    server.agi.answer()
    server.agi.noop()
    assert server.agi.pendingCount == server.agi.commands.pendingCount == 2


def test_hangupAndCloseWaitersMayBeCancelled() -> None:
    from tests.test_fastagi import started

    server = started()
    hungUp, closed, stays = server.agi.whenHungUp(), server.agi.whenClosed(), \
        server.agi.whenClosed()
    out = collect(hungUp, closed, stays)
    hungUp.cancel()
    closed.cancel()
    server.feed(b"HANGUP\n")
    server.close()
    assert out == [defer.CancelledError, defer.CancelledError, None]


def test_whenListeningMayBeCancelled() -> None:
    service = fastagi.FastAGIService(fastagi.FastAGIFactory(lambda agi: None))
    service.running = True
    waiting = service.whenListening()
    waiting.cancel()
    assert failure(waiting).check(defer.CancelledError)
    service.running = False


def test_dialplanArgumentsUpToTheFirstMissingNumber() -> None:
    variables = {"agi_arg_%d" % (n,): "v%d" % (n,) for n in range(1, 21)}
    assert dialplanArguments(variables) == ["v%d" % (n,) for n in range(1, 21)]
    del variables["agi_arg_18"]
    assert dialplanArguments(variables) == ["v%d" % (n,) for n in range(1, 18)]
    assert dialplanArguments({"agi_arg_2": "x"}) == []
    assert dialplanArguments({"agi_arg_1": "", "agi_arg_2": "b"}) == ["", "b"]


class StubAMI:
    def __init__(self) -> None:
        self.actions: List[Tuple[str, Any]] = []

    def sendAction(self, name: str, headers: Any) -> "Deferred[Any]":
        self.actions.append((name, headers))
        return Deferred()


def test_asyncAGIDispatcherRoutesTheCommandIDsItsSessionsAskFor() -> None:
    ami = StubAMI()
    dispatcher = asyncagi.AsyncAGIDispatcher(ami, clock=task.Clock())
    start = Message([("Event", "AsyncAGIStart"), ("Channel", "Local/1@a-1;2"),
                     ("Uniqueid", "1.1"), ("Env", "agi_arg_1%3A%20a%0Aagi_arg_2%3A%20b%0A%0A")])
    variables = {"agi_channel": "Local/1@a-1;2", "agi_arg_1": "a", "agi_arg_2": "b"}
    session = asyncagi.AsyncAGISession(dispatcher, ami, start, variables, task.Clock())
    assert session.arguments == ["a", "b"]
    first = dispatcher.trackCommand(session)
    second = dispatcher.trackCommand(session)
    assert first != second
    dispatcher.forgetCommand(first)
    dispatcher.forgetCommand("unknown")
    out = collect(session.noop())
    (name, headers), = ami.actions
    commandID = dict(headers)["CommandID"]
    exec_ = Message([("Event", "AsyncAGIExec"), ("Channel", "Local/1@a-1;2"),
                     ("CommandId", commandID), ("Result", "200%20result%3D0%0A")])
    dispatcher._onExec(ami, exec_)  # the AMI event, as registered
    assert out == [0]
    dispatcher._onExec(ami, exec_)  # answered: its CommandID goes nowhere now
    assert out == [0]


# -- the package's shape ----------------------------------------------------------------

AGI_LAYER = sorted((ROOT / "agi").glob("*.py")) + sorted((ROOT / "asyncagi").glob("*.py")) + [
    ROOT / "classicagi.py"] + sorted((ROOT / "fastagi").glob("*.py"))


def test_agiModulesAreTheSizeOfOneIdea() -> None:
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines())
             for path in AGI_LAYER}
    transports: Tuple[str, ...] = ()
    assert all(size <= 600 for name, size in sizes.items() if name not in transports), sizes
    assert all(sizes[name] <= 700 for name in transports), sizes


OLD_NAMES = ["AGISession", "InSequence", "AGIResponse", "Digits", "digitChar",
             "DEAD_SAFE_COMMANDS", "SpeechResult", "SpeechRecognition", "callHandler",
             "runHandler", "QueuedCommand", "isDeadSafe", "Handler", "log"]


def test_starpyAgiStillExportsEveryName() -> None:
    assert set(OLD_NAMES) <= set(agi.__all__)
    for name in agi.__all__:
        assert getattr(agi, name) is not None
    assert fastagi.InSequence is agi.InSequence and fastagi.runHandler is agi.runHandler
    assert agi.log.name == "starpy.agi"


def test_agiModulesLogOnTheirPackagesLogger() -> None:
    from starpy.agi import _results, _session

    assert _session.log is agi.log and _results.log is agi.log


def test_someCommandsOnEachMixinReachTheQueue() -> None:
    from tests.test_fastagi import started

    server = started()
    session = server.agi
    out = collect(session.answer(), session.streamFile("x"), session.getVariable("V"))
    assert server.take() == b"ANSWER\n"
    for line in (b"200 result=0\n", b"200 result=0 endpos=1\n", b"200 result=1 (v)\n"):
        server.feed(line)
    assert server.take() == b'STREAM FILE x ""\nGET VARIABLE V\n'
    assert out == [0, (0, 1), "v"]
