"""Tests for starpy.testing.agi, the fake Asterisk FastAGI caller.

The fidelity tests replay the command lines of the captured calls
(tests/fixtures/fastagi-*.txt) into the fake, configured like the captured
channel, and compare its bytes with what the real Asterisk 22 sent.
"""

from __future__ import annotations

from typing import Any, Callable, Generator, Iterable, Optional

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.protocols.basic import LineOnlyReceiver

from starpy.testing._agiusage import USAGE
from starpy.testing.agi import (
    AGI_COMMANDS,
    DEAD_SAFE_COMMANDS,
    MAX_ARGUMENTS,
    AstDB,
    FakeAGICaller,
    FakeAGICallerFactory,
    SimulatedChannel,
    Transcript,
    agiBufferForVersion,
    parseAGIArguments,
    placeCallInMemory,
    placeCallTCP,
    spacedDigits,
)
from tests.transcripts import lines, raw
from tests.wire import connect, portNumber

DEAD = b"511 Command Not Permitted on a dead channel or intercept routine\n"


# ---------------------------------------------------------------------------
# helpers


class Call:
    """A fake caller on a StringTransport and a Clock."""

    def __init__(self, channel: SimulatedChannel | None = None) -> None:
        self.clock = Clock()
        self.transport = StringTransport()
        self.caller = FakeAGICaller(channel or SimulatedChannel(), self.clock)
        connect(self.caller, self.transport)
        self.transport.clear()  # drop the environment block

    def send(self, line: bytes) -> bytes:
        """Send one line; return what the fake wrote at once."""
        self.transport.clear()
        self.caller.dataReceived(line + b"\n")
        return self.take()

    def take(self) -> bytes:
        value: bytes = self.transport.value()
        self.transport.clear()
        return value

    def advance(self, seconds: float) -> bytes:
        """Let time pass, running each timed event at its own time."""
        target = self.clock.seconds() + seconds
        while True:
            due = [c.getTime() for c in self.clock.getDelayedCalls()]
            due = [t for t in due if t <= target + 1e-9]
            if not due:
                break
            self.clock.advance(max(0.0, min(due) - self.clock.seconds()))
        self.clock.advance(max(0.0, target - self.clock.seconds()))
        return self.take()

    def settle(self) -> bytes:
        """Run the clock until the running command (if any) has replied."""
        while self.caller.busy:
            calls = self.clock.getDelayedCalls()
            assert calls, "a busy command with nothing scheduled"
            self.clock.advance(min(c.getTime() for c in calls) - self.clock.seconds())
        return self.take()

    def close(self) -> Transcript:
        self.caller.connectionLost()
        assert self.clock.getDelayedCalls() == []
        return self.caller.transcript


def channel(**kw: Any) -> SimulatedChannel:
    return SimulatedChannel(**kw)


def usageBlock(name: str) -> bytes:
    text = "520-Invalid command syntax.  Proper usage follows:\n"
    text += USAGE[name] + "\n520 End of proper usage.\n"
    return text.encode()


# ---------------------------------------------------------------------------
# the argument parser


@pytest.mark.parametrize(
    "line, words",
    [
        ("", []),
        ("ANSWER", ["ANSWER"]),
        ('STREAM FILE hello-world ""', ["STREAM", "FILE", "hello-world", ""]),
        ('SET VARIABLE FOO "bar baz"', ["SET", "VARIABLE", "FOO", "bar baz"]),
        ('GET FULL VARIABLE "${CHANNEL}-${EXTEN}"', ["GET", "FULL", "VARIABLE", "${CHANNEL}-${EXTEN}"]),
        ("  a\t\tb  ", ["a", "b"]),
        ('a"b c"d', ["ab cd"]),
        ('"" ""', ["", ""]),
        ('x "a \\" b"', ["x", 'a " b']),
        ("a\\ b", ["a b"]),
        ("a\\\\b", ["a\\b"]),
        ("a\\", ["a"]),
        ("\\x", ["x"]),
        ("'one two'", ["'one", "two'"]),
        ('"open quote keeps  spaces', ["open quote keeps  spaces"]),
        ("a\rb", ["a\rb"]),
    ],
)
def test_parseExamples(line: str, words: list[str]) -> None:
    assert parseAGIArguments(line) == words


def test_parseTruncatesAfterMaxArguments() -> None:
    line = " ".join(str(n) for n in range(200))
    words = parseAGIArguments(line)
    assert len(words) == MAX_ARGUMENTS == 127
    assert words[-1] == "126"
    assert parseAGIArguments('a b "c"', maxArguments=2) == ["a", "b"]


def quote(value: str) -> str:
    """Quote as an AGI client must: double quotes, backslash before \\ and "."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


values = st.text(st.characters(blacklist_characters="\n\0"), max_size=30)


@given(st.lists(values, max_size=20))
def test_parseRoundTripsQuotedValues(words: list[str]) -> None:
    assert parseAGIArguments(" ".join(quote(w) for w in words)) == words


@given(st.lists(st.text("abcXYZ019-_./'", min_size=1, max_size=8), max_size=20))
def test_parsePlainWordsSplitOnWhitespace(words: list[str]) -> None:
    assert parseAGIArguments(" \t".join(words)) == words


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_parseAnyLine(line: str) -> None:
    words = parseAGIArguments(line)
    assert len(words) <= MAX_ARGUMENTS
    # Nothing is invented: every character kept comes from the line.
    kept = "".join(words)
    assert len(kept) <= len(line)


# ---------------------------------------------------------------------------
# replays of the captured calls


def helloChannel() -> SimulatedChannel:
    return SimulatedChannel(
        request="agi://127.0.0.1:4573/hello",
        arguments=["arg1", "arg with space"],
        name="Local/100@fastagi-00000002;2",
        uniqueId="1795488578.5",
        threadId=139680037258944,
        callerId="1000",
        callerIdName="FastAGI Test",
        context="fastagi",
        extension="100",
        priority=2,
        subroutines={("sub-test", "s", 1): lambda ch, args: f"{args[0]}-done"},
        gosubDuration=0.042,
    )


def menuChannel() -> SimulatedChannel:
    return SimulatedChannel(
        request="agi://127.0.0.1:4573/menu",
        arguments=["arg1", "arg with space"],
        name="Local/200@fastagi-00000003;2",
        uniqueId="1795488593.7",
        threadId=139680038282944,
        context="fastagi",
        extension="200",
        priority=2,
        sounds={"demo-congrats": 5.0},
        dtmf=[(1.802, "1"), (3.003, "2"), (4.205, "3")],
        hangupAt=15.217,
    )


def channel555() -> SimulatedChannel:
    return SimulatedChannel(
        request="agi://127.0.0.1:4573/555",
        name="Local/555@fastagi-00000004;2",
        uniqueId="1795488613.9",
        threadId=139680037770944,
        context="fastagi",
        extension="555",
        priority=2,
    )


def replay(name: str, channel: SimulatedChannel) -> tuple[bytes, Transcript]:
    """Send the capture's commands at the capture's times (or as soon as the
    previous command has replied); return everything the fake sent."""
    clock = Clock()
    transport = StringTransport()
    caller = FakeAGICaller(channel, clock)
    connect(caller, transport)
    for when, direction, data in lines(name):
        if direction != ">>":
            continue
        clock.advance(max(0.0, when - clock.seconds()))
        while caller.busy:
            nextCall = min(c.getTime() for c in clock.getDelayedCalls())
            clock.advance(nextCall - clock.seconds())
        caller.dataReceived(data)
    while caller.busy:
        clock.advance(min(c.getTime() for c in clock.getDelayedCalls()) - clock.seconds())
    caller.connectionLost()
    assert clock.getDelayedCalls() == []
    return transport.value(), caller.transcript


@pytest.mark.parametrize(
    "name, makeChannel, status",
    [
        ("fastagi-hello", helloChannel, "FAILURE"),
        ("fastagi-menu", menuChannel, "HANGUP"),
        ("fastagi-555", channel555, "SUCCESS"),
    ],
)
def test_replayIsByteForByte(name: str, makeChannel: Callable[[], SimulatedChannel],
                             status: str) -> None:
    sent, transcript = replay(name, makeChannel())
    assert sent == raw(name)
    assert transcript.agiStatus == status
    assert transcript.commands() == [d[:-1] for _, way, d in lines(name) if way == ">>"]


def test_environmentBlockOfEachCapture() -> None:
    for name, make in [
        ("fastagi-hello", helloChannel),
        ("fastagi-menu", menuChannel),
        ("fastagi-555", channel555),
    ]:
        block = raw(name).split(b"\n\n", 1)[0] + b"\n\n"
        assert make().environmentBlock() == block


def test_environmentDefaults() -> None:
    env = dict(SimulatedChannel(request="agi://pbx/").environment())
    assert "agi_network_script" not in env
    assert env["agi_callerid"] == "unknown"
    assert env["agi_calleridname"] == "unknown"
    assert env["agi_callingpres"] == "67"
    assert env["agi_type"] == "PJSIP"
    assert env["agi_accountcode"] == ""
    known = dict(SimulatedChannel(callerId="555").environment())
    assert known["agi_callingpres"] == "0"
    assert b"agi_accountcode: \n" in SimulatedChannel().environmentBlock()


def test_transcriptLooksLikeTheCaptures() -> None:
    _, transcript = replay("fastagi-555", channel555())
    rows = transcript.format().splitlines()
    assert rows[0] == "  0.000 << b'agi_network: yes\\n'"
    assert "  0.000 >> b'GET VARIABLE EXTEN\\n'" in rows
    assert "  0.000 << b'200 result=1 (555)\\n'" in rows
    assert transcript.exchanges() == [(b"GET VARIABLE EXTEN", b"200 result=1 (555)\n")]


# ---------------------------------------------------------------------------
# DTMF, playback and timeouts


def test_escapeDigitInterruptsStreamFile() -> None:
    call = Call(channel(sounds={"long": 10.0}, dtmf=[(2.5, "5")]))
    assert call.send(b'STREAM FILE long "59"') == b""
    assert call.advance(2.5) == b"200 result=53 endpos=20160\n"
    assert call.caller.channel.variables["PLAYBACKSTATUS"] == "FAILED"


def test_nonEscapeDigitDoesNotInterrupt() -> None:
    call = Call(channel(sounds={"long": 10.0}, dtmf=[(2.5, "1")]))
    call.send(b'STREAM FILE long "59"')
    assert call.advance(9.9) == b""
    assert call.advance(0.1) == b"200 result=0 endpos=80000\n"
    assert "DTMF '1' ignored (not an escape digit)" in call.caller.transcript.notes()


def test_streamFileOffsetAndUnknownFile() -> None:
    call = Call(channel(sounds={"s": 1.0}))
    call.send(b'STREAM FILE s "" 4000')
    assert call.advance(0.5) == b"200 result=0 endpos=8000\n"
    assert call.send(b'STREAM FILE s "" 9000') == b"200 result=0 endpos=8000\n"
    assert call.send(b'STREAM FILE nope "" 123') == b"200 result=-1 endpos=123\n"
    assert call.send(b"STREAM FILE s 1 abc") == usageBlock("STREAM FILE")
    assert call.close().agiStatus == "FAILURE"


def test_digitWhileIdleIsDiscarded() -> None:
    call = Call(channel(dtmf=[(1.0, "7")]))
    call.advance(1.0)
    call.send(b"WAIT FOR DIGIT 2000")
    assert call.advance(2.0) == b"200 result=0\n"
    assert "DTMF '7' discarded (no command is listening)" in call.caller.transcript.notes()


def test_waitForDigit() -> None:
    call = Call(channel(dtmf=spacedDigits("*#", start=100.0, interval=50.0)))
    call.send(b"WAIT FOR DIGIT -1")
    assert call.advance(99.9) == b""
    assert call.advance(0.1) == b"200 result=42\n"
    call.send(b"WAIT FOR DIGIT 100000")
    assert call.advance(50.0) == b"200 result=35\n"
    assert call.send(b"WAIT FOR DIGIT 0") == b"200 result=0\n"
    assert call.send(b"WAIT FOR DIGIT soon") == usageBlock("WAIT FOR DIGIT")
    assert call.send(b"WAIT FOR DIGIT 1 2") == usageBlock("WAIT FOR DIGIT")


def test_getDataCollectsUpToMaxDigits() -> None:
    call = Call(channel(sounds={"prompt": 2.0}, dtmf=spacedDigits("12345", 3.0, 1.0)))
    call.send(b"GET DATA prompt 5000 3")
    assert call.settle() == b"200 result=123\n"


def test_getDataHashEnds() -> None:
    call = Call(channel(sounds={"prompt": 2.0}, dtmf=spacedDigits("4#", 1.0, 1.0)))
    call.send(b"GET DATA prompt 5000")
    assert call.advance(2.0) == b"200 result=4\n"


def test_getDataHashFirstGivesEmptyResult() -> None:
    call = Call(channel(dtmf=[(1.0, "#")]))
    call.send(b'GET DATA "" 3000 4')
    assert call.advance(1.0) == b"200 result=\n"


def test_getDataTimeoutReturnsWhatWasCollected() -> None:
    call = Call(channel(sounds={"prompt": 2.0}, dtmf=[(3.0, "9")]))
    call.send(b"GET DATA prompt 1500 4")
    assert call.advance(4.4) == b""
    assert call.advance(0.1) == b"200 result=9 (timeout)\n"
    call.send(b"GET DATA prompt 1500 4")
    assert call.advance(3.5) == b"200 result= (timeout)\n"


def test_getDataDefaultTimeouts() -> None:
    # Without a timeout Asterisk waits 6 s for the first digit, then 2 s.
    call = Call(channel(dtmf=[(5.9, "1")]))
    call.send(b'GET DATA ""')
    assert call.advance(7.8) == b""
    assert call.advance(0.1) == b"200 result=1 (timeout)\n"


def test_getDataDigitDuringPromptCounts() -> None:
    call = Call(channel(sounds={"prompt": 5.0}, dtmf=spacedDigits("12", 1.0, 0.5)))
    call.send(b"GET DATA prompt 3000 2")
    assert call.advance(1.5) == b"200 result=12\n"
    assert call.send(b"GET DATA missing 3000 2") == b"200 result=-1\n"
    assert call.send(b"GET DATA") == usageBlock("GET DATA")


def test_getOption() -> None:
    call = Call(
        channel(sounds={"p": 1.0}, dtmf=[(0.5, "3"), (2.0, "4"), (4.0, "9")])
    )
    call.send(b"GET OPTION p 34 2000")
    assert call.advance(0.5) == b"200 result=51 endpos=4160\n"
    call.send(b"GET OPTION p 34 2000")  # prompt to 1.5, digit 4 at 2.0
    assert call.advance(1.5) == b"200 result=52 endpos=8000\n"
    call.send(b"GET OPTION p 34 5000")  # 9 is not an escape digit
    assert call.settle() == b"200 result=0 endpos=8000\n"


def test_sayCommands() -> None:
    call = Call(channel(sayItemDuration=0.5, dtmf=[(0.7, "#")]))
    call.send(b'SAY DIGITS 123 "#"')
    assert call.advance(0.7) == b"200 result=35\n"
    call.send(b'SAY NUMBER 42 ""')
    assert call.advance(0.99) == b""
    assert call.advance(0.01) == b"200 result=0\n"
    assert call.send(b'SAY DIGITS abc ""') == usageBlock("SAY DIGITS")
    assert call.send(b'SAY ALPHA abc "" x') == usageBlock("SAY ALPHA")
    call.send(b'SAY DATETIME 0 ""')
    assert call.settle() == b"200 result=0\n"


def test_controlStreamFile() -> None:
    call = Call(channel(sounds={"f": 10.0}, dtmf=[(1.0, "#"), (2.0, "5")]))
    call.send(b'CONTROL STREAM FILE f "5"')
    # '#' winds 3 s forward at 1 s (1.02 s played: Asterisk is one 20 ms
    # frame ahead); '5' stops one second later, at 1.02 + 3 + 1.02 s.
    assert call.advance(2.0) == b"200 result=53 endpos=5040\n"
    assert call.caller.channel.variables["CPLAYBACKSTATUS"] == "USERSTOPPED"
    call.send(b'CONTROL STREAM FILE f "" 3000 # * "" 9000')
    assert call.settle() == b"200 result=0 endpos=-1\n"
    assert call.send(b'CONTROL STREAM FILE nope ""') == b"200 result=-1 endpos=0\n"
    assert call.send(b"CONTROL STREAM FILE f") == usageBlock("CONTROL STREAM FILE")


def test_recordFile() -> None:
    call = Call(channel(dtmf=[(3.0, "#")], hangupAt=20.0))
    call.send(b'RECORD FILE msg wav "#" 10000')
    assert call.advance(3.0) == b"200 result=35 (dtmf) endpos=22400\n"
    call.send(b'RECORD FILE msg2 wav "#" 2000')
    assert call.advance(2.0) == b"200 result=0 (timeout) endpos=16000\n"
    call.send(b'RECORD FILE msg3 wav "#" -1')
    assert call.advance(15.0) == b"200 result=-1 (hangup) endpos=120000\nHANGUP\n"
    recordings = call.caller.channel.recordings
    assert [(r.filename, r.reason) for r in recordings] == [
        ("msg", "dtmf"),
        ("msg2", "timeout"),
        ("msg3", "hangup"),
    ]


# ---------------------------------------------------------------------------
# hangup


def test_hangupDuringWaitForDigit() -> None:
    call = Call(channel(hangupAt=5.0))
    call.send(b"WAIT FOR DIGIT 30000")
    assert call.advance(5.0) == b"200 result=-1\nHANGUP\n"
    assert call.send(b"ANSWER") == DEAD
    assert call.close().agiStatus == "HANGUP"


def test_hangupDuringStreamFile() -> None:
    call = Call(channel(sounds={"f": 3.0}, hangupAt=1.0))
    call.send(b'STREAM FILE f ""')
    assert call.advance(1.0) == b"200 result=-1 endpos=8160\nHANGUP\n"


def test_hangupWhileIdleSendsHangupAtOnce() -> None:
    call = Call(channel(hangupAt=2.0))
    assert call.advance(2.0) == b"HANGUP\n"
    assert call.send(b"GET VARIABLE CHANNEL") == b"200 result=1 (PJSIP/caller-00000001)\n"


def test_scriptHangup() -> None:
    call = Call()
    assert call.send(b"HANGUP") == b"200 result=1\nHANGUP\n"
    assert call.caller.channel.hungUp
    assert call.send(b"STREAM FILE hello-world") == DEAD
    assert call.send(b"FOO") == b"510 Invalid or unknown command\n"


def test_hangupOtherChannel() -> None:
    call = Call(channel(otherChannels={"PJSIP/bob-1": 6}))
    assert call.send(b"CHANNEL STATUS PJSIP/bob-1") == b"200 result=6\n"
    assert call.send(b"HANGUP PJSIP/bob-1") == b"200 result=1\n"
    assert call.send(b"HANGUP PJSIP/bob-1") == b"200 result=-1\n"
    assert call.send(b"CHANNEL STATUS PJSIP/bob-1") == b"200 result=-1\n"
    assert call.send(b"HANGUP a b") == usageBlock("HANGUP")
    assert not call.caller.channel.hungUp


DEAD_SAFE_LINES = [
    (b"GET VARIABLE CHANNEL", b"200 result=1 (PJSIP/caller-00000001)\n"),
    (b'GET FULL VARIABLE "${EXTEN}"', b"200 result=1 (s)\n"),
    (b"SET VARIABLE A b", b"200 result=1\n"),
    (b"DATABASE PUT f k v", b"200 result=1\n"),
    (b"DATABASE GET f k", b"200 result=1 (v)\n"),
    (b"DATABASE DEL f k", b"200 result=1\n"),
    (b"DATABASE DELTREE f", b"200 result=0\n"),
    (b"VERBOSE hi", b"200 result=1\n"),
    (b"NOOP", b"200 result=0\n"),
    (b"EXEC NoOp x", b"200 result=0\n"),
    (b"ASYNCAGI BREAK", b"200 result=0\n"),
    (b"SPEECH DESTROY", b"200 result=0\n"),
    (b"SPEECH UNLOAD GRAMMAR g", b"200 result=0\n"),
]


def test_deadChannelCommands() -> None:
    call = Call()
    call.send(b"HANGUP")
    for line, reply in DEAD_SAFE_LINES:
        assert call.send(line) == reply, line
    for command in AGI_COMMANDS:
        if command.name not in DEAD_SAFE_COMMANDS:
            # Refused before the arguments are even looked at.
            assert call.send(command.name.encode()) == DEAD, command.name
    assert len(DEAD_SAFE_COMMANDS) == len(DEAD_SAFE_LINES)


def test_sigHupOffAndExitOnHangup() -> None:
    call = Call(channel(variables={"AGISIGHUP": "no"}, hangupAt=1.0))
    assert call.advance(1.0) == b""
    assert call.send(b"ANSWER") == DEAD
    call = Call(channel(variables={"AGIEXITONHANGUP": "yes"}, hangupAt=1.0))
    assert call.advance(1.0) == b"HANGUP\n"
    assert call.transport.disconnecting


def test_autohangup() -> None:
    call = Call()
    assert call.send(b"SET AUTOHANGUP 2.5") == b"200 result=0\n"
    assert call.advance(2.5) == b"HANGUP\n"
    assert call.close().agiStatus == "HANGUP"


# ---------------------------------------------------------------------------
# command syntax: 510 and 520


WRONG_COUNTS = [
    "CHANNEL STATUS a b",
    "CONTROL STREAM FILE f",
    "CONTROL STREAM FILE f 1 2 3 4 5 6 7",
    "DATABASE DEL f",
    "DATABASE DELTREE",
    "DATABASE DELTREE f k x",
    "DATABASE GET f",
    "DATABASE PUT f k",
    "EXEC",
    "GET DATA",
    "GET FULL VARIABLE",
    "GET FULL VARIABLE a b c",
    "GET OPTION f",
    "GET OPTION f 1 2 3",
    "GET VARIABLE",
    "GET VARIABLE a b",
    "GOSUB c e",
    "GOSUB c e 1 a b",
    "HANGUP a b",
    "RECEIVE CHAR",
    "RECEIVE TEXT",
    "RECORD FILE f wav 1",
    "SAY ALPHA a",
    "SAY DATE 1",
    "SAY DATETIME 1",
    "SAY DIGITS 1",
    "SAY NUMBER 1",
    "SAY NUMBER 1 2 3 4",
    "SAY PHONETIC a",
    "SAY TIME 1",
    "SEND IMAGE",
    "SEND TEXT",
    "SET AUTOHANGUP",
    "SET CONTEXT",
    "SET EXTENSION",
    "SET MUSIC",
    "SET PRIORITY",
    "SET VARIABLE a",
    "SPEECH ACTIVATE GRAMMAR",
    "SPEECH DEACTIVATE GRAMMAR",
    "SPEECH LOAD GRAMMAR g",
    "SPEECH RECOGNIZE p",
    "SPEECH SET a",
    "SPEECH UNLOAD GRAMMAR",
    "STREAM FILE",
    "STREAM FILE f 1 2 3",
    "TDD MODE",
    "VERBOSE",
    "WAIT FOR DIGIT",
]


@pytest.mark.parametrize("line", WRONG_COUNTS)
def test_wrongArgumentCountGivesUsage(line: str) -> None:
    words = line.split()
    command = next(c for c in AGI_COMMANDS if list(c.words) == words[: len(c.words)])
    assert Call().send(line.encode()) == usageBlock(command.name)


def test_everyCommandHasUsageAndThereAre47() -> None:
    assert len(AGI_COMMANDS) == 47
    assert {c.name for c in AGI_COMMANDS} == set(USAGE)
    # Commands without an argument-count rule in res_agi accept anything.
    call = Call()
    assert call.send(b"ANSWER now please") == b"200 result=0\n"
    assert call.send(b"NOOP with words") == b"200 result=0\n"


@pytest.mark.parametrize(
    "line", [b"FOO BAR", b"STREAM", b"", b"ANSWER\r", b"WAIT FOR", b"GET"]
)
def test_unknownCommand(line: bytes) -> None:
    assert Call().send(line) == b"510 Invalid or unknown command\n"


def test_commandWordsAreCaseInsensitive() -> None:
    call = Call()
    assert call.send(b"answer") == b"200 result=0\n"
    assert call.send(b"Get Variable EXTEN") == b"200 result=1 (s)\n"


@pytest.mark.parametrize("version, buffer", [
    ("22.10.1", 8192), ("22.6.0", 8192), ("22.5.2", 2048), ("21.11.0", 8192),
    ("21.10.2", 2048), ("20.16.0", 8192), ("20.15.2", 2048), ("certified-20.7-cert11", 2048),
    ("certified-22.8-cert1", 8192), ("23.0.0-rc1", 8192), ("18.26.4", 2048),
    ("1.8.32.3", 2048), ("GIT-master-1234abc", 2048),
])
def test_longLineIsCutAtTheVersionsBuffer(version: str, buffer: int) -> None:
    assert agiBufferForVersion(version) == buffer
    call = Call(channel(version=version))
    value = b"x" * (buffer + 1000)
    reply = call.send(b"VERBOSE " + value)
    assert reply == b"200 result=1\n510 Invalid or unknown command\n"
    assert call.caller.channel.verboseMessages == [(0, "x" * (buffer - 1 - len(b"VERBOSE ")))]


def test_lineFillingTheBufferLeavesItsNewlineAsAnEmptyCommand() -> None:
    call = Call(channel(version="20.7.0"))
    fits = b"VERBOSE " + b"y" * (2046 - len(b"VERBOSE "))
    assert call.send(fits) == b"200 result=1\n"
    tooLong = fits + b"y"  # 2047 bytes + newline: the newline is the next command
    assert call.send(tooLong) == b"200 result=1\n510 Invalid or unknown command\n"


def test_failureLineEndsTheAGI() -> None:
    call = Call()
    assert call.send(b"failure: cannot run") == b""
    assert call.transport.disconnecting
    assert call.close().agiStatus == "FAILURE"


def test_newDataInterruptsPlaybackAndWait() -> None:
    call = Call(channel(sounds={"f": 5.0}))
    call.send(b'STREAM FILE f ""')
    # Asterisk notices the socket is readable: STREAM FILE ends, no reply.
    assert call.send(b"NOOP") == b"200 result=0\n"
    call.send(b"WAIT FOR DIGIT 5000")
    assert call.send(b"NOOP") == b"200 result=1\n200 result=0\n"
    assert call.clock.getDelayedCalls() == []


# ---------------------------------------------------------------------------
# variables, database, gosub, exec


def test_variables() -> None:
    call = Call(channel(callerId="5551234", callerIdName="Ann", extension="100"))
    assert call.send(b'SET VARIABLE FOO "bar baz"') == b"200 result=1\n"
    assert call.send(b"GET VARIABLE FOO") == b"200 result=1 (bar baz)\n"
    assert call.send(b"GET VARIABLE foo") == b"200 result=0\n"
    assert call.send(b"GET VARIABLE CALLERID(num)") == b"200 result=1 (5551234)\n"
    assert call.send(b"GET VARIABLE NOSUCH(x)") == b"200 result=0\n"
    assert call.send(b'SET VARIABLE EMPTY ""') == b"200 result=1\n"
    assert call.send(b"GET VARIABLE EMPTY") == b"200 result=1 ()\n"
    full = b'GET FULL VARIABLE "${CALLERID(name)}/${FOO:4}/${FOO:0:3}/${NONE}/${EXTEN}"'
    assert call.send(full) == b"200 result=1 (Ann/baz/bar//100)\n"
    assert call.send(b'GET FULL VARIABLE "${FOO}" PJSIP/nobody') == b"200 result=0\n"
    assert call.send(b'SET CALLERID "\\"Bob\\" <(555) 000>"') == b"200 result=1\n"
    assert (call.caller.channel.callerIdName, call.caller.channel.callerId) == ("Bob", "555000")
    assert call.send(b"SET CONTEXT other") == b"200 result=0\n"
    assert call.send(b"SET PRIORITY 5") == b"200 result=0\n"
    assert call.send(b"GET FULL VARIABLE ${CONTEXT}-${PRIORITY}") == b"200 result=1 (other-5)\n"


def test_database() -> None:
    db = AstDB({("fam", "a"): "1"})
    call = Call(channel(database=db))
    assert call.send(b"DATABASE GET fam a") == b"200 result=1 (1)\n"
    assert call.send(b'DATABASE PUT fam/sub b "two words"') == b"200 result=1\n"
    assert call.send(b"DATABASE GET fam/sub b") == b"200 result=1 (two words)\n"
    assert call.send(b"GET VARIABLE DB(fam/a)") == b"200 result=1 (1)\n"
    assert call.send(b"DATABASE DEL fam nokey") == b"200 result=0\n"
    assert call.send(b"DATABASE DELTREE fam sub") == b"200 result=1\n"
    assert db.asDict() == {"/fam/a": "1"}
    assert call.send(b"DATABASE DELTREE fam") == b"200 result=1\n"
    assert call.send(b"DATABASE DELTREE fam") == b"200 result=0\n"


def test_gosub() -> None:
    subs = {("sub", "s", 1): lambda ch, args: "|".join(args)}
    call = Call(channel(subroutines=subs, gosubDuration=0.5))
    assert call.send(b"GOSUB sub s 1 a,b") == b"100 result=0 Trying...\n"
    assert call.advance(0.5) == b"200 result=0 Gosub complete\n"
    assert call.send(b"GET VARIABLE GOSUB_RETVAL") == b"200 result=1 (a|b)\n"
    assert call.send(b"GOSUB sub s 2") == b"200 result=-1 Gosub label not found\n"


def test_exec() -> None:
    seen: list[str] = []

    def app(ch: SimulatedChannel, options: str) -> int:
        seen.append(options)
        return 0

    call = Call(channel(applications={"MyApp": app, "Set": lambda ch, o: 0}))
    assert call.send(b'EXEC myapp "a,b c"') == b"200 result=0\n"
    assert seen == ["a,b c"]
    assert call.send(b"EXEC NoSuchApp x") == b"200 result=-2\n"
    default = Call()
    assert default.send(b"EXEC Set X=1") == b"200 result=0\n"
    assert default.caller.channel.variables["X"] == "1"
    assert default.send(b"EXEC Hangup") == b"200 result=-1\nHANGUP\n"


def test_answerAndStatus() -> None:
    call = Call(channel(answered=False))
    assert call.send(b"CHANNEL STATUS") == b"200 result=4\n"
    assert call.send(b"ANSWER") == b"200 result=0\n"
    assert call.send(b"CHANNEL STATUS") == b"200 result=6\n"


def test_speech() -> None:
    assert Call().send(b"SPEECH CREATE lumenvox") == b"200 result=0\n"
    call = Call(channel(speechEngines=frozenset({"fake"}), dtmf=[(0.5, "3")]))
    assert call.send(b"SPEECH CREATE fake") == b"200 result=1\n"
    assert call.send(b"SPEECH LOAD GRAMMAR g /tmp/g.gram") == b"200 result=1\n"
    assert call.send(b"SPEECH ACTIVATE GRAMMAR g") == b"200 result=1\n"
    assert call.send(b"SPEECH ACTIVATE GRAMMAR nope") == b"200 result=0\n"
    call.send(b"SPEECH RECOGNIZE beep 2000")
    assert call.advance(0.5) == b"200 result=1 (digit) digit=3 endpos=0\n"
    call.send(b"SPEECH RECOGNIZE beep 2000")
    assert call.settle() == b"200 result=1 (timeout) endpos=0\n"
    assert call.send(b"SPEECH DESTROY") == b"200 result=1\n"


def test_miscellaneousCommands() -> None:
    call = Call(channel(dtmf=[]))
    assert call.send(b'SEND TEXT "hello there"') == b"200 result=0\n"
    assert call.caller.channel.sentTexts == ["hello there"]
    assert call.send(b"SEND IMAGE logo") == b"200 result=0\n"
    assert call.send(b"TDD MODE on") == b"200 result=0\n"
    assert call.send(b"SET MUSIC on jazz") == b"200 result=0\n"
    assert call.caller.channel.musicClass == "jazz"
    assert call.send(b"SET EXTENSION 200") == b"200 result=0\n"
    call.send(b"RECEIVE TEXT 1000")
    assert call.advance(1.0) == b"200 result=-1\n"
    assert call.send(b"VERBOSE \"a message\" 3") == b"200 result=1\n"
    assert call.caller.channel.verboseMessages == [(3, "a message")]


# ---------------------------------------------------------------------------
# over connections


class ScriptedServer(LineOnlyReceiver):
    """A tiny FastAGI server: reads the environment, sends its commands one
    by one, reads each reply (HANGUP lines, 100 and 520 blocks included),
    then closes the connection."""

    delimiter = b"\n"

    def __init__(self, commands: Iterable[bytes]) -> None:
        self.commands = list(commands)
        self.environment: dict[str, str] = {}
        self.replies: list[bytes] = []
        self.hangups = 0
        self.inEnvironment = True
        self.block: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        if self.inEnvironment:
            if line:
                key, _, value = line.decode().partition(": ")
                self.environment[key] = value
                return
            self.inEnvironment = False
            self.next()
            return
        if line == b"HANGUP":
            self.hangups += 1
            return
        self.block.append(line)
        if line.startswith(b"520-") or line.startswith(b"100 "):
            return
        if self.block[0].startswith(b"520-") and not line.startswith(b"520 "):
            return
        self.replies.append(b"\n".join(self.block))
        self.block = []
        self.next()

    def next(self) -> None:
        if self.commands:
            self.sendLine(self.commands.pop(0))
        else:
            assert self.transport is not None
            self.transport.loseConnection()


def serverFactory(commands: list[bytes]) -> Factory:
    return Factory.forProtocol(lambda: ScriptedServer(commands))


def test_inMemoryCall() -> None:
    clock = Clock()
    ch = channel(
        request="agi://127.0.0.1:4573/menu?lang=en",
        arguments=["x"],
        dtmf=spacedDigits("42", 2.0, 1.0),
        hangupAt=60.0,
    )
    commands = [b"ANSWER", b"WAIT FOR DIGIT 5000", b'STREAM FILE hello-world "2"', b"HANGUP", b"NOOP"]
    call = placeCallInMemory(serverFactory(commands), ch, clock)
    server = call.server
    assert isinstance(server, ScriptedServer)
    assert server.environment["agi_network_script"] == "menu?lang=en"
    assert server.environment["agi_arg_1"] == "x"
    finished: list[Transcript] = []
    call.whenFinished().addCallback(finished.append)
    transcript = call.runUntilFinished()
    assert finished == [transcript]
    assert server.replies == [
        b"200 result=0",
        b"200 result=52",
        b"200 result=50 endpos=8160",
        b"200 result=1",
        b"200 result=0",
    ]
    assert server.hangups == 1
    assert transcript.agiStatus == "HANGUP"
    assert clock.getDelayedCalls() == []
    assert clock.seconds() == pytest.approx(3.0)


def test_failingApplicationRaisesIntoTheTest() -> None:
    """In memory, an EXEC application that raises comes out of the call that
    moved the bytes (over TCP, the reactor logs it and drops the connection)."""
    def broken(channel: SimulatedChannel, options: str) -> int:
        raise LookupError("fake application bug")

    ch = channel(applications={"Broken": broken})
    with pytest.raises(LookupError, match="fake application bug"):
        # The server sends EXEC as soon as it has the environment.
        placeCallInMemory(serverFactory([b"EXEC Broken"]), ch, Clock()).runUntilFinished()


def test_inMemoryAdvanceAndStuckCall() -> None:
    call = placeCallInMemory(serverFactory([b"WAIT FOR DIGIT -1"]), channel(), Clock())
    call.advance(10.0)
    assert not call.finished
    with pytest.raises(RuntimeError, match="stuck"):
        call.runUntilFinished()


@pytest_twisted.inlineCallbacks
def test_overTCP() -> Generator[Optional[defer.Deferred[Any]], Any, None]:
    from twisted.internet import reactor

    commands = [b"ANSWER", b"STREAM FILE", b"GET VARIABLE EXTEN"]
    factory = serverFactory(commands)
    port: IListeningPort = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
    try:
        transcript: Transcript = yield placeCallTCP(
            reactor, "127.0.0.1", portNumber(port), channel(extension="321")
        )
    finally:
        yield port.stopListening()
    assert transcript.sent().endswith(
        b"200 result=0\n" + usageBlock("STREAM FILE") + b"200 result=1 (321)\n"
    )
    assert transcript.finished


@pytest_twisted.inlineCallbacks
def test_factoryWithConnectTCP() -> Generator[Optional[defer.Deferred[Any]], Any, None]:
    from twisted.internet import reactor

    port: IListeningPort = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
        serverFactory([b"NOOP"])
    )
    number = portNumber(port)
    factory = FakeAGICallerFactory(channel(), reactor)
    finished = factory.whenFinished()
    reactor.connectTCP("127.0.0.1", number, factory)
    try:
        transcript: Transcript = yield finished
    finally:
        yield port.stopListening()
    assert transcript.exchanges() == [(b"NOOP", b"200 result=0\n")]
    refused = FakeAGICallerFactory(channel(), reactor)
    failed = refused.whenFinished()
    reactor.connectTCP("127.0.0.1", number, refused)
    with pytest.raises(ConnectionRefusedError):
        yield failed


@pytest_twisted.inlineCallbacks
def test_overTCPRefused() -> Generator[Optional[defer.Deferred[Any]], Any, None]:
    from twisted.internet import reactor

    port: IListeningPort = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(Factory())
    number = portNumber(port)
    yield port.stopListening()
    with pytest.raises(ConnectionRefusedError):
        yield placeCallTCP(reactor, "127.0.0.1", number)


def test_readmeExampleAgainstStarPysServer(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's example ("Testing your AGI application"), run from the
    README itself: StarPy's FastAGI server driven by the fake."""
    from tests.test_readme import pythonBlocks, section

    (code,) = [block for block in pythonBlocks(section("Testing your AGI application"))
               if "placeCallInMemory(" in block]
    names: dict[str, Any] = {"__name__": "readme"}
    exec(compile(code, "README.md (Testing your AGI application)", "exec"), names)
    ch: SimulatedChannel = names["channel"]
    clock: Clock = names["clock"]
    transcript: Transcript = names["transcript"]
    assert ch.variables["CHOICE"] == "2"
    assert transcript.agiStatus == "SUCCESS"
    assert transcript.commands() == [
        b"ANSWER",
        b"STREAM FILE welcome 12",
        b"SET VARIABLE CHOICE 2",
    ]
    assert clock.getDelayedCalls() == []
    assert capsys.readouterr().out == transcript.format() + "\n" + "SUCCESS\n"
