"""Tests for the transport-independent AGI command API (starpy.agi)."""
from __future__ import annotations

import datetime
from typing import Any, Callable, List, Optional, Tuple

import pytest
from twisted.internet import defer, task
from twisted.internet.defer import Deferred

from starpy import error
from starpy.agi import DEAD_SAFE_COMMANDS, AGISession, InSequence, SpeechRecognition, SpeechResult
from starpy.codec.agi import AGIReply, parseReplyText
from tests.deferreds import failedWith, failure, result

from .agihelpers import asteriskParseArgs


class RecordingSession(AGISession):
    """An AGISession whose transport is a list: what AsyncAGI will look like."""

    def __init__(self, clock: Optional[task.Clock] = None) -> None:
        super().__init__(clock or task.Clock())
        self.sent: List[Tuple[str, Deferred[AGIReply]]] = []
        self.finished = 0
        self.variables = {"agi_context": "fastagi", "agi_extension": "100",
                          "agi_priority": "2", "agi_channel": "Local/100@fastagi-1;2"}

    def sendCommandLine(self, line: str) -> Deferred[AGIReply]:
        d: Deferred[AGIReply] = Deferred()
        self.sent.append((line, d))
        return d

    def finish(self) -> None:
        self.finished += 1

    def reply(self, text: str) -> None:
        line, d = self.sent.pop(0)
        d.callback(parseReplyText(text))


NOW = 1795488578.5

# (call, line sent, Asterisk's reply, expected result)
COMMANDS: List[Tuple[Callable[[AGISession], Deferred[Any]], str, str, Any]] = [
    (lambda a: a.answer(), "ANSWER", "200 result=0", 0),
    (lambda a: a.asyncagiBreak(), "ASYNCAGI BREAK", "200 result=0", 0),
    (lambda a: a.channelStatus(), "CHANNEL STATUS", "200 result=6", 6),
    (lambda a: a.channelStatus("SIP/x-1"), "CHANNEL STATUS SIP/x-1", "200 result=4", 4),
    (lambda a: a.controlStreamFile("demo", "12"), "CONTROL STREAM FILE demo 12 3000 * #",
     "200 result=49 endpos=800", (49, 800)),
    (lambda a: a.controlStreamFile("demo", [1, "#"], skip=1.5, pauseChar="5", offset=2.0),
     'CONTROL STREAM FILE demo 1# 1500 * # 5 2000', "200 result=0 endpos=16000", (0, 16000)),
    (lambda a: a.controlStreamFile("demo", "#", 500), "CONTROL STREAM FILE demo # 500 * #",
     "200 result=35", (35, None)),
    (lambda a: a.databaseDel("fam", "key"), "DATABASE DEL fam key", "200 result=1", 1),
    (lambda a: a.databaseDeltree("fam"), "DATABASE DELTREE fam", "200 result=1", 1),
    (lambda a: a.databaseDeltree("fam", "sub"), "DATABASE DELTREE fam sub", "200 result=1", 1),
    (lambda a: a.databaseGet("fam", "key"), "DATABASE GET fam key", "200 result=1 (v a l)", "v a l"),
    (lambda a: a.databaseSet("fam", "key", "a b"), 'DATABASE PUT fam key "a b"', "200 result=1", 1),
    (lambda a: a.databasePut("fam", "key", "v"), "DATABASE PUT fam key v", "200 result=1", 1),
    (lambda a: a.execute("Dial", "SIP/x", 20, "tT"), "EXEC Dial SIP/x,20,tT", "200 result=0", "0"),
    (lambda a: a.execute("NoOp"), "EXEC NoOp", "200 result=0", "0"),
    (lambda a: a.execute("Dial", "SIP/x", comma_delimiter=True), "EXEC Dial SIP/x", "200 result=-1", "-1"),
    (lambda a: a.playback("hello-world"), "EXEC Playback hello-world", "200 result=0", 0),
    (lambda a: a.getData("enter-number", 3.5, 4), "GET DATA enter-number 3500 4",
     "200 result=1234", ("1234", False)),
    (lambda a: a.getData("enter-number"), "GET DATA enter-number 2000",
     "200 result= (timeout)", ("", True)),
    (lambda a: a.getFullVariable("${CALLERID(num)}"), "GET FULL VARIABLE ${CALLERID(num)}",
     "200 result=1 (1000)", "1000"),
    (lambda a: a.getFullVariable("${X}", "SIP/y-2"), "GET FULL VARIABLE ${X} SIP/y-2",
     "200 result=0", None),
    (lambda a: a.getOption("menu", "123", 5), "GET OPTION menu 123 5000",
     "200 result=50 endpos=2000", ("2", 2000)),
    (lambda a: a.getOption("menu", "123"), "GET OPTION menu 123", "200 result=0 endpos=8000",
     ("", 8000)),
    (lambda a: a.getVariable("CHANNEL"), "GET VARIABLE CHANNEL",
     "200 result=1 (Local/100@fastagi-00000002;2)", "Local/100@fastagi-00000002;2"),
    (lambda a: a.getVariable("EMPTY"), "GET VARIABLE EMPTY", "200 result=1 ()", ""),
    (lambda a: a.gosub("sub-test", "s", 1, "a", "b c"), 'GOSUB sub-test s 1 "a,b c"',
     "100 result=0 Trying...\n200 result=0 Gosub complete", 0),
    (lambda a: a.gosub("sub-test", "s", "start"), "GOSUB sub-test s start", "200 result=0", 0),
    (lambda a: a.hangup(), "HANGUP", "200 result=1", 1),
    (lambda a: a.hangup("SIP/x-1"), "HANGUP SIP/x-1", "200 result=1", 1),
    (lambda a: a.noop(), "NOOP", "200 result=0", 0),
    (lambda a: a.noop("marker"), "NOOP marker", "200 result=0", 0),
    (lambda a: a.receiveChar(2), "RECEIVE CHAR 2000", "200 result=65", ("65", False)),
    (lambda a: a.receiveChar(), "RECEIVE CHAR 0", "200 result=0 (timeout)", ("0", True)),
    (lambda a: a.receiveText(1), "RECEIVE TEXT 1000", "200 result=1 (hi there)", "hi there"),
    (lambda a: a.recordFile("msg", "wav", "#", 30, silence=3), "RECORD FILE msg wav # 30000 BEEP s=3",
     "200 result=35 (dtmf) endpos=24000", (35, "dtmf", 24000)),
    (lambda a: a.recordFile("msg", "gsm", "", -1, 80, beep=False), 'RECORD FILE msg gsm "" -1 80',
     "200 result=0 (timeout) endpos=8000", (0, "timeout", 8000)),
    (lambda a: a.recordFile("msg", "wav", "#"), "RECORD FILE msg wav # -1 BEEP",
     "200 result=-1 (hangup) endpos=4000", (-1, "hangup", 4000)),
    (lambda a: a.sayAlpha("ab c"), 'SAY ALPHA "ab c" ""', "200 result=0", 0),
    (lambda a: a.sayDate(NOW, "#"), "SAY DATE 1795488578 #", "200 result=35", 35),
    (lambda a: a.sayDateTime(NOW), 'SAY DATETIME 1795488578 ""', "200 result=0", 0),
    (lambda a: a.sayDateTime(NOW, "", "IMp"), 'SAY DATETIME 1795488578 "" IMp', "200 result=0", 0),
    (lambda a: a.sayDateTime(datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc),
                             timezone="Europe/Paris"),
     "SAY DATETIME 1795488578 \"\" \"ABdY 'digits/at' IMp\" Europe/Paris", "200 result=0", 0),
    (lambda a: a.sayDigits(123), 'SAY DIGITS 123 ""', "200 result=0", 0),
    (lambda a: a.sayNumber(42), 'SAY NUMBER 42 ""', "200 result=0", 0),
    (lambda a: a.sayNumber(-7, "*", gender="f"), "SAY NUMBER -7 * f", "200 result=42", 42),
    (lambda a: a.sayPhonetic("xyz"), 'SAY PHONETIC xyz ""', "200 result=0", 0),
    (lambda a: a.sayTime(NOW, [1, 2]), "SAY TIME 1795488578 12", "200 result=0", 0),
    (lambda a: a.sendImage("logo"), "SEND IMAGE logo", "200 result=0", 0),
    (lambda a: a.sendText('say "hi"'), 'SEND TEXT "say \\"hi\\""', "200 result=0", 0),
    (lambda a: a.setAutoHangup(1.5), "SET AUTOHANGUP 1.5", "200 result=0", 0),
    (lambda a: a.setAutoHangup(60), "SET AUTOHANGUP 60", "200 result=0", 0),
    (lambda a: a.setCallerID('"Test" <1000>'), 'SET CALLERID "\\"Test\\" <1000>"', "200 result=1", 1),
    (lambda a: a.setContext("fastagi"), "SET CONTEXT fastagi", "200 result=0", 0),
    (lambda a: a.setExtension("100"), "SET EXTENSION 100", "200 result=0", 0),
    (lambda a: a.setMusic(), "SET MUSIC on", "200 result=0", 0),
    (lambda a: a.setMusic(False, "jazz"), "SET MUSIC off jazz", "200 result=0", 0),
    (lambda a: a.setPriority(102), "SET PRIORITY 102", "200 result=0", 0),
    (lambda a: a.setVariable("FOO", "bar baz"), 'SET VARIABLE FOO "bar baz"', "200 result=1", 1),
    (lambda a: a.speechCreate("lumenvox"), "SPEECH CREATE lumenvox", "200 result=1", 1),
    (lambda a: a.speechSet("conf", "0.5"), "SPEECH SET conf 0.5", "200 result=1", 1),
    (lambda a: a.speechDestroy(), "SPEECH DESTROY", "200 result=1", 1),
    (lambda a: a.speechLoadGrammar("yn", "/g/yn.gram"), "SPEECH LOAD GRAMMAR yn /g/yn.gram",
     "200 result=1", 1),
    (lambda a: a.speechUnloadGrammar("yn"), "SPEECH UNLOAD GRAMMAR yn", "200 result=1", 1),
    (lambda a: a.speechActivateGrammar("yn"), "SPEECH ACTIVATE GRAMMAR yn", "200 result=1", 1),
    (lambda a: a.speechDeactivateGrammar("yn"), "SPEECH DEACTIVATE GRAMMAR yn", "200 result=1", 1),
    (lambda a: a.speechRecognize("beep", 5), "SPEECH RECOGNIZE beep 5000",
     '200 result=1 (speech) endpos=0 results=2 score0=900 text0="yes please" grammar0=yn '
     'score1=100 text1="yes" grammar1=yn',
     SpeechRecognition("speech", 0, None, [SpeechResult(900, "yes please", "yn"),
                                           SpeechResult(100, "yes", "yn")])),
    (lambda a: a.speechRecognize("beep", 5, 80), "SPEECH RECOGNIZE beep 5000 80",
     "200 result=1 (digit) digit=5 endpos=400", SpeechRecognition("digit", 400, "5", [])),
    (lambda a: a.streamFile("hello-world"), 'STREAM FILE hello-world ""',
     "200 result=0 endpos=11234", (0, 11234)),
    (lambda a: a.streamFile("demo-congrats", "0123456789*#", 100),
     'STREAM FILE demo-congrats 0123456789*# 100', "200 result=50 endpos=9760", (50, 9760)),
    (lambda a: a.tddMode(), "TDD MODE on", "200 result=1", 1),
    (lambda a: a.tddMode(None), "TDD MODE mate", "200 result=1", 1),
    (lambda a: a.verbose("hello from fastagi", 1), 'VERBOSE "hello from fastagi" 1', "200 result=1", 1),
    (lambda a: a.waitForDigit(3), "WAIT FOR DIGIT 3000", "200 result=0", 0),
    (lambda a: a.waitForDigit(-1), "WAIT FOR DIGIT -1", "200 result=35", 35),
]


@pytest.mark.parametrize("call,line,reply,expected", COMMANDS,
                         ids=[c[1][:40] for c in COMMANDS])
def test_command(call: Callable[[AGISession], Deferred[Any]], line: str, reply: str,
                 expected: Any) -> None:
    agi = RecordingSession()
    d = call(agi)
    assert [sent for sent, _ in agi.sent] == [line]
    assert not d.called
    agi.reply(reply)
    assert result(d) == expected


ALL_COMMANDS = [
    "ANSWER", "ASYNCAGI BREAK", "CHANNEL STATUS", "CONTROL STREAM FILE", "DATABASE DEL",
    "DATABASE DELTREE", "DATABASE GET", "DATABASE PUT", "EXEC", "GET DATA", "GET FULL VARIABLE",
    "GET OPTION", "GET VARIABLE", "GOSUB", "HANGUP", "NOOP", "RECEIVE CHAR", "RECEIVE TEXT",
    "RECORD FILE", "SAY ALPHA", "SAY DATE", "SAY DATETIME", "SAY DIGITS", "SAY NUMBER",
    "SAY PHONETIC", "SAY TIME", "SEND IMAGE", "SEND TEXT", "SET AUTOHANGUP", "SET CALLERID",
    "SET CONTEXT", "SET EXTENSION", "SET MUSIC", "SET PRIORITY", "SET VARIABLE",
    "SPEECH CREATE", "SPEECH SET", "SPEECH DESTROY", "SPEECH LOAD GRAMMAR",
    "SPEECH UNLOAD GRAMMAR", "SPEECH ACTIVATE GRAMMAR", "SPEECH DEACTIVATE GRAMMAR",
    "SPEECH RECOGNIZE", "STREAM FILE", "TDD MODE", "VERBOSE", "WAIT FOR DIGIT",
]


def commandOf(line: str) -> str:
    """The longest known command name the line starts with."""
    words = asteriskParseArgs(line)
    for size in (3, 2, 1):
        name = " ".join(words[:size])
        if name in ALL_COMMANDS:
            return name
    raise AssertionError("unknown command in %r" % (line,))


def test_all47CommandsCovered() -> None:
    assert len(set(ALL_COMMANDS)) == 47
    assert {commandOf(line) for _, line, _, _ in COMMANDS} == set(ALL_COMMANDS)


@pytest.mark.parametrize("call,line,reply,expected", [
    (lambda a: a.streamFile("no-such-sound-file"), 'STREAM FILE no-such-sound-file ""',
     "200 result=-1 endpos=0", error.AGICommandFailure),
    (lambda a: a.waitForDigit(30), "WAIT FOR DIGIT 30000", "200 result=-1", error.AGICommandFailure),
    (lambda a: a.databaseGet("fam", "nokey"), "DATABASE GET fam nokey", "200 result=0",
     error.AGICommandFailure),
    (lambda a: a.getVariable("NOSUCHVAR"), "GET VARIABLE NOSUCHVAR", "200 result=0",
     error.AGICommandFailure),
    (lambda a: a.databaseDel("fam", "nokey"), "DATABASE DEL fam nokey", "200 result=0",
     error.AGICommandFailure),
    (lambda a: a.execute("NoSuchApp", "x"), "EXEC NoSuchApp x", "200 result=-2",
     error.AGICommandFailure),
    (lambda a: a.speechCreate("none"), "SPEECH CREATE none", "200 result=0", error.AGICommandFailure),
    (lambda a: a.tddMode(False), "TDD MODE off", "200 result=0", error.AGICommandFailure),
    (lambda a: a.sendCommand("FOO BAR"), "FOO BAR", "510 Invalid or unknown command",
     error.AGIInvalidCommand),
    (lambda a: a.answer(), "ANSWER",
     "511 Command Not Permitted on a dead channel or intercept routine", error.AGIDeadChannel),
])
def test_commandFailures(call: Callable[[AGISession], Deferred[Any]], line: str, reply: str,
                         expected: type) -> None:
    agi = RecordingSession()
    d = call(agi)
    assert agi.sent[0][0] == line
    agi.reply(reply)
    reason = failure(d)
    assert reason.check(expected)
    assert isinstance(reason.value, error.AGICommandFailure)
    assert reason.value.command is not None
    assert reason.value.command.startswith(line.split(" ")[0])


def test_usageError() -> None:
    agi = RecordingSession()
    d = agi.sendCommand("GET DATA")
    agi.reply("520-Invalid command syntax.  Proper usage follows:\n"
              "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
              "520 End of proper usage.\n")
    refused = failedWith(d, error.AGIUsageError)
    assert refused.usage == ("Stream the given <replaceable>file</replaceable>, "
                             "and receive DTMF data.")
    assert refused.command == "GET DATA"


def test_deadChannelReplyMarksHungUp() -> None:
    agi = RecordingSession()
    d = agi.answer()
    agi.reply("511 Command Not Permitted on a dead channel or intercept routine")
    failure(d)
    assert agi.hungUp
    assert failure(agi.streamFile("x")).check(error.AGIHangup)
    assert agi.sent == []


def test_afterHangupOnlyDeadSafeCommandsAreSent() -> None:
    agi = RecordingSession()
    hungUp = agi.whenHungUp()
    assert not hungUp.called
    agi.hangupReceived()
    assert hungUp.called
    assert agi.whenHungUp().called
    refused = [agi.answer(), agi.streamFile("x"), agi.waitForDigit(1), agi.sayNumber(1),
               agi.hangup(), agi.gosub("a", "b", 1), agi.channelStatus(),
               agi.setContext("x")]
    for d in refused:
        reason = failure(d)
        assert reason.check(error.AGIHangup)
    assert agi.sent == []
    safe = [agi.getVariable("A"), agi.getFullVariable("${A}"), agi.databaseGet("f", "k"),
            agi.databaseSet("f", "k", "v"), agi.databaseDel("f", "k"),
            agi.databaseDeltree("f"), agi.verbose("v"), agi.noop(), agi.setVariable("A", "1"),
            agi.execute("NoOp"), agi.asyncagiBreak(), agi.speechDestroy(),
            agi.speechUnloadGrammar("digits")]
    assert len(agi.sent) == len(safe) == 13
    assert {commandOf(line) for line, _ in agi.sent} == DEAD_SAFE_COMMANDS
    for d in safe:
        assert not d.called


def test_closedSessionRefusesEverything() -> None:
    agi = RecordingSession()
    closed = agi.whenClosed()
    agi.sessionClosed()
    assert closed.called
    assert failure(agi.getVariable("A")).check(error.AGIHangup)
    assert failure(agi.wait(1)).check(error.AGIHangup)
    assert agi.sent == []
    assert agi.whenClosed().called and agi.whenHungUp().called


def test_newlineInArgumentFails() -> None:
    agi = RecordingSession()
    reason = failure(agi.setVariable("FOO", "two\nlines"))
    assert reason.check(ValueError)
    assert "argument 2 of SET VARIABLE" in str(reason.value)
    assert agi.sent == []


def test_wait() -> None:
    clock = task.Clock()
    agi = RecordingSession(clock)
    d = agi.wait(2.5)
    clock.advance(2.4)
    assert not d.called
    clock.advance(0.1)
    assert result(d) == 0  # upstream fired with 0
    assert clock.getDelayedCalls() == []


def test_waitEndsWithSession() -> None:
    clock = task.Clock()
    agi = RecordingSession(clock)
    d = agi.wait(10)
    agi.sessionClosed()
    assert failure(d).check(error.AGIHangup)
    assert clock.getDelayedCalls() == []


def test_waitCancel() -> None:
    clock = task.Clock()
    agi = RecordingSession(clock)
    d = agi.wait(10)
    d.cancel()
    assert failure(d).check(defer.CancelledError)
    assert clock.getDelayedCalls() == []


# -- InSequence ------------------------------------------------------------------


def test_inSequenceSuccess() -> None:
    agi = RecordingSession()
    order: List[str] = []

    async def third(x: int) -> int:
        order.append("third")
        return x * 2

    def second(*, name: str) -> str:
        order.append("second")
        return name

    sequence = InSequence()
    sequence.append(agi.answer)
    sequence.append(second, name="n")
    sequence.append(third, 21)
    sequence.append(agi.streamFile, "hello-world")
    d = sequence()
    assert [line for line, _ in agi.sent] == ["ANSWER"]
    assert order == []
    agi.reply("200 result=0")
    assert order == ["second", "third"]
    assert [line for line, _ in agi.sent] == ['STREAM FILE hello-world ""']
    agi.reply("200 result=0 endpos=100")
    assert result(d) == [0, "n", 42, (0, 100)]


def test_inSequenceFailureCarriesResults() -> None:
    agi = RecordingSession()
    ran: List[str] = []
    sequence = InSequence()
    sequence.append(agi.answer)
    sequence.append(agi.streamFile, "missing")
    sequence.append(ran.append, "never")
    d = sequence()
    agi.reply("200 result=0")
    agi.reply("200 result=-1 endpos=0")
    reason = failure(d)
    assert reason.check(error.AGICommandFailure)
    # InSequence notes the results so far on the failure and its exception,
    # as upstream did: attributes added at run time.
    assert reason.results == [0]  # type: ignore[attr-defined]
    assert reason.value.results == [0]  # type: ignore[union-attr]
    assert ran == []


def test_inSequenceSynchronousFailure() -> None:
    def boom() -> None:
        raise KeyError("x")

    sequence = InSequence()
    sequence.append(lambda: 1)
    sequence.append(boom)
    reason = failure(sequence())
    assert reason.check(KeyError)
    assert reason.results == [1]  # type: ignore[attr-defined]


def test_inSequenceManySynchronousSteps() -> None:
    sequence = InSequence()
    for i in range(3000):
        sequence.append(lambda i=i: i)
    assert result(sequence()) == list(range(3000))


# -- jumpOnError -------------------------------------------------------------------


class Oops(Exception):
    pass


def test_jumpOnError() -> None:
    agi = RecordingSession()
    d: Deferred[Any] = defer.fail(Oops())
    d.addErrback(agi.jumpOnError, 100)
    assert [line for line, _ in agi.sent] == ["SET CONTEXT fastagi"]
    agi.reply("200 result=0")
    assert agi.sent[0][0] == "SET EXTENSION 100"
    agi.reply("200 result=0")
    assert agi.sent[0][0] == "SET PRIORITY 102"
    assert agi.finished == 0
    agi.reply("200 result=0")
    assert agi.finished == 1
    assert result(d) == [0, 0, 0, None]  # and finish(), as upstream


def test_jumpOnErrorForErrors() -> None:
    agi = RecordingSession()
    other: Deferred[Any] = defer.fail(KeyError("k"))
    other.addErrback(agi.jumpOnError, 50, forErrors=(Oops, ValueError))
    assert failure(other).check(KeyError)
    assert agi.sent == [] and agi.finished == 0

    mine: Deferred[Any] = defer.fail(Oops())
    mine.addErrback(agi.jumpOnError, 50, forErrors=Oops)
    agi.reply("200 result=0")
    agi.reply("200 result=0")
    assert agi.sent[0][0] == "SET PRIORITY 52"
    agi.reply("200 result=0")
    assert result(mine) == [0, 0, 0, None]
    assert agi.finished == 1


def test_jumpOnErrorAfterHangupStillFinishes() -> None:
    agi = RecordingSession()
    agi.hangupReceived()
    d: Deferred[Any] = defer.fail(Oops())
    d.addErrback(agi.jumpOnError)
    assert failure(d).check(error.AGIHangup)
    assert agi.finished == 1


def test_deadSafeListIsExactlyAsterisks() -> None:
    """WIRE.md: the commands res_agi marks as allowed on a dead channel."""
    assert DEAD_SAFE_COMMANDS == {
        "ASYNCAGI BREAK", "DATABASE DEL", "DATABASE DELTREE", "DATABASE GET", "DATABASE PUT",
        "EXEC", "GET FULL VARIABLE", "GET VARIABLE", "NOOP", "SET VARIABLE",
        "SPEECH DESTROY", "SPEECH UNLOAD GRAMMAR", "VERBOSE"}
