"""Upstream StarPy 1.1.1 code runs unchanged: AGI result shapes, names, helpers.

The expected values are what upstream's ``FastAGIProtocol`` fires with for the
same bytes from Asterisk (read from its code: ``checkFailure``,
``resultAsInt``, ``onStreamingComplete``...), except the deliberate
differences listed in the README ("From upstream StarPy"), marked DIFFERENT
here.
"""
from __future__ import annotations

import datetime
import inspect
import time
from typing import Any, Callable, List, Tuple

import pytest
from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from starpy import error, fastagi
from starpy.agi import AGIResponse, InSequence, digitChar
from starpy.codec.agi import parseReplyText
from tests.deferreds import failure, result, unfired
from tests.wire import connect

ENV = (b"agi_network: yes\nagi_request: agi://127.0.0.1:4573/\n"
       b"agi_channel: PJSIP/100-00000001\nagi_context: survey\nagi_extension: s\n"
       b"agi_priority: 2\n\n")


class Connection:
    """One FastAGI session over a StringTransport, its handler idle."""

    def __init__(self) -> None:
        self.clock = task.Clock()
        self.sessions: List[fastagi.FastAGIProtocol] = []
        factory = fastagi.FastAGIFactory(self.sessions.append, clock=self.clock)
        agi = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        assert agi is not None
        self.transport = StringTransport()
        connect(agi, self.transport)
        agi.dataReceived(ENV)
        assert self.sessions == [agi]
        self.agi = agi

    def take(self) -> bytes:
        value: bytes = self.transport.value()
        self.transport.clear()
        return value

    def reply(self, data: bytes) -> None:
        self.agi.dataReceived(data)


Call = Callable[[Any], "Deferred[Any]"]

#: (call, Asterisk's reply, what upstream fires with, or the error class it fails with)
UPSTREAM: List[Tuple[str, Call, bytes, Any]] = [
    # -- the rows of issue 12 -------------------------------------------------------
    ("waitForDigit key", lambda a: a.waitForDigit(1), b"200 result=49\n", 49),
    ("waitForDigit none", lambda a: a.waitForDigit(1), b"200 result=0\n", 0),
    ("sayAlpha", lambda a: a.sayAlpha("abc"), b"200 result=0\n", 0),
    ("sayAlpha key", lambda a: a.sayAlpha("abc", "1"), b"200 result=49\n", 49),
    ("sayDate", lambda a: a.sayDate(1700000000), b"200 result=0\n", 0),
    ("sayDate key", lambda a: a.sayDate(1700000000, "1"), b"200 result=49\n", 49),
    ("sayDigits", lambda a: a.sayDigits(123), b"200 result=0\n", 0),
    ("sayDigits key", lambda a: a.sayDigits(123, "1"), b"200 result=49\n", 49),
    ("sayNumber", lambda a: a.sayNumber(42), b"200 result=0\n", 0),
    ("sayNumber key", lambda a: a.sayNumber(42, "1"), b"200 result=49\n", 49),
    ("sayPhonetic", lambda a: a.sayPhonetic("abc"), b"200 result=0\n", 0),
    ("sayPhonetic key", lambda a: a.sayPhonetic("abc", "1"), b"200 result=49\n", 49),
    ("sayTime", lambda a: a.sayTime(1700000000), b"200 result=0\n", 0),
    ("sayTime key", lambda a: a.sayTime(1700000000, "1"), b"200 result=49\n", 49),
    ("sayDateTime", lambda a: a.sayDateTime(1700000000), b"200 result=0\n", 0),
    ("sayDateTime key", lambda a: a.sayDateTime(1700000000, "1"), b"200 result=49\n", 49),
    ("streamFile", lambda a: a.streamFile("demo", "#"), b"200 result=0 endpos=2000\n", (0, 2000)),
    ("streamFile key", lambda a: a.streamFile("demo", "#"), b"200 result=35 endpos=100\n",
     (35, 100)),
    ("controlStreamFile", lambda a: a.controlStreamFile("demo", "#"),
     b"200 result=0 endpos=1234\n", (0, 1234)),
    ("controlStreamFile key", lambda a: a.controlStreamFile("demo", "#"),
     b"200 result=35 endpos=100\n", (35, 100)),
    ("recordFile dtmf", lambda a: a.recordFile("rec", "wav", "#", 10),
     b"200 result=35 (dtmf) endpos=8000\n", (35, "dtmf", 8000)),
    ("getOption none", lambda a: a.getOption("demo", "12"), b"200 result=0 endpos=8000\n",
     ("", 8000)),
    ("getVariable unset", lambda a: a.getVariable("X"), b"200 result=0\n",
     error.AGICommandFailure),
    ("receiveChar", lambda a: a.receiveChar(1), b"200 result=65\n", ("65", False)),
    ("execute", lambda a: a.execute("NoOp", "x"), b"200 result=0\n", "0"),
    # DIFFERENT: upstream fired with '1 (hello)'.
    ("receiveText", lambda a: a.receiveText(1), b"200 result=1 (hello)\n", "hello"),
    # -- every other command of upstream's FastAGIProtocol, and the quirks -------------
    ("answer", lambda a: a.answer(), b"200 result=0\n", 0),
    ("answer fails", lambda a: a.answer(), b"200 result=-1\n", error.AGICommandFailure),
    ("channelStatus", lambda a: a.channelStatus(), b"200 result=6\n", 6),
    ("channelStatus of", lambda a: a.channelStatus("PJSIP/x-1"), b"200 result=4\n", 4),
    ("channelStatus none", lambda a: a.channelStatus("PJSIP/x-1"), b"200 result=-1\n",
     error.AGICommandFailure),
    ("controlStreamFile no endpos", lambda a: a.controlStreamFile("demo", "#"),
     b"200 result=0\n", (0, None)),
    ("controlStreamFile fails", lambda a: a.controlStreamFile("demo", "#"),
     b"200 result=-1 endpos=0\n", error.AGICommandFailure),
    ("databaseDel", lambda a: a.databaseDel("f", "k"), b"200 result=1\n", 1),
    ("databaseDel missing", lambda a: a.databaseDel("f", "k"), b"200 result=0\n",
     error.AGICommandFailure),
    ("databaseDeltree", lambda a: a.databaseDeltree("f"), b"200 result=1\n", 1),
    ("databaseDeltree key", lambda a: a.databaseDeltree("f", "k"), b"200 result=1\n", 1),
    ("databaseDeltree missing", lambda a: a.databaseDeltree("f"), b"200 result=0\n",
     error.AGICommandFailure),
    ("databaseGet", lambda a: a.databaseGet("f", "k"), b"200 result=1 (v a l)\n", "v a l"),
    ("databaseGet missing", lambda a: a.databaseGet("f", "k"), b"200 result=0\n",
     error.AGICommandFailure),
    ("databaseSet", lambda a: a.databaseSet("f", "k", "v"), b"200 result=1\n", 1),
    ("databasePut", lambda a: a.databasePut("f", "k", "v"), b"200 result=1\n", 1),
    ("databaseSet fails", lambda a: a.databaseSet("f", "k", "v"), b"200 result=0\n",
     error.AGICommandFailure),
    ("execute -1 is a result", lambda a: a.execute("Dial", "PJSIP/x", 20), b"200 result=-1\n",
     "-1"),
    ("execute comma_delimiter", lambda a: a.execute("Dial", "PJSIP/x", comma_delimiter=True),
     b"200 result=0\n", "0"),
    ("execute no such app", lambda a: a.execute("NoSuchApp"), b"200 result=-2\n",
     error.AGICommandFailure),
    ("getData", lambda a: a.getData("f", 2, 4), b"200 result=1234\n", ("1234", False)),
    ("getData timeout", lambda a: a.getData("f"), b"200 result=12 (timeout)\n", ("12", True)),
    ("getData nothing", lambda a: a.getData("f"), b"200 result= (timeout)\n", ("", True)),
    ("getData fails", lambda a: a.getData("f"), b"200 result=-1\n", error.AGICommandFailure),
    ("getOption key", lambda a: a.getOption("demo", "12", 5), b"200 result=49 endpos=100\n",
     ("1", 100)),
    ("getOption fails", lambda a: a.getOption("demo", "12"), b"200 result=-1 endpos=0\n",
     error.AGICommandFailure),
    ("getVariable", lambda a: a.getVariable("X"), b"200 result=1 (a value)\n", "a value"),
    ("getVariable empty", lambda a: a.getVariable("X"), b"200 result=1 ()\n", ""),
    ("hangup", lambda a: a.hangup(), b"200 result=1\n", 1),
    ("hangup other", lambda a: a.hangup("PJSIP/x-1"), b"200 result=-1\n", error.AGICommandFailure),
    ("noop", lambda a: a.noop(), b"200 result=0\n", 0),
    ("noop message", lambda a: a.noop("marker"), b"200 result=0\n", 0),
    ("playback", lambda a: a.playback("hello-world"), b"200 result=0\n", 0),
    ("playback fails", lambda a: a.playback("hello-world"), b"200 result=-1\n",
     error.AGICommandFailure),
    ("receiveChar timeout", lambda a: a.receiveChar(1), b"200 result=0 (timeout)\n", ("0", True)),
    ("receiveChar fails", lambda a: a.receiveChar(), b"200 result=-1\n", error.AGICommandFailure),
    ("receiveText fails", lambda a: a.receiveText(), b"200 result=-1\n", error.AGICommandFailure),
    ("recordFile timeout", lambda a: a.recordFile("rec", "wav", "#", 10, silence=2),
     b"200 result=0 (timeout) endpos=80000\n", (0, "timeout", 80000)),
    ("recordFile hangup is a result", lambda a: a.recordFile("rec", "wav", "#"),
     b"200 result=-1 (hangup) endpos=4000\n", (-1, "hangup", 4000)),
    # DIFFERENT: upstream raised ValueError (no end position to read).
    ("recordFile write error", lambda a: a.recordFile("rec", "wav", "#"),
     b"200 result=-1 (writefile)\n", error.AGICommandFailure),
    ("sayNumber fails", lambda a: a.sayNumber(42), b"200 result=-1\n", error.AGICommandFailure),
    ("sayDateTime fails", lambda a: a.sayDateTime(0, "", "IMp", "UTC"), b"200 result=-1\n",
     error.AGICommandFailure),
    ("sendImage", lambda a: a.sendImage("logo"), b"200 result=0\n", 0),
    ("sendImage fails", lambda a: a.sendImage("logo"), b"200 result=-1\n", error.AGICommandFailure),
    ("sendText", lambda a: a.sendText("hi"), b"200 result=0\n", 0),
    ("sendText fails", lambda a: a.sendText("hi"), b"200 result=-1\n", error.AGICommandFailure),
    ("setAutoHangup", lambda a: a.setAutoHangup(10), b"200 result=0\n", 0),
    ("setAutoHangup fails", lambda a: a.setAutoHangup(10), b"200 result=-1\n",
     error.AGICommandFailure),
    # Upstream did not check these for -1: the result is returned as it is.
    ("setCallerID", lambda a: a.setCallerID("100"), b"200 result=1\n", 1),
    ("setCallerID -1", lambda a: a.setCallerID("100"), b"200 result=-1\n", -1),
    ("setContext", lambda a: a.setContext("survey"), b"200 result=0\n", 0),
    ("setContext -1", lambda a: a.setContext("survey"), b"200 result=-1\n", -1),
    ("setExtension", lambda a: a.setExtension("s"), b"200 result=0\n", 0),
    ("setExtension -1", lambda a: a.setExtension("s"), b"200 result=-1\n", -1),
    ("setMusic", lambda a: a.setMusic(), b"200 result=0\n", 0),
    ("setMusic class -1", lambda a: a.setMusic(True, "jazz"), b"200 result=-1\n", -1),
    ("setPriority", lambda a: a.setPriority(102), b"200 result=0\n", 0),
    ("setPriority -1", lambda a: a.setPriority(102), b"200 result=-1\n", -1),
    ("setVariable", lambda a: a.setVariable("A", "b"), b"200 result=1\n", 1),
    ("setVariable -1", lambda a: a.setVariable("A", "b"), b"200 result=-1\n", -1),
    ("verbose", lambda a: a.verbose("hi", 1), b"200 result=1\n", 1),
    ("verbose -1", lambda a: a.verbose("hi"), b"200 result=-1\n", -1),
    ("streamFile offset", lambda a: a.streamFile("demo", "#", 800), b"200 result=0 endpos=9000\n",
     (0, 9000)),
    # DIFFERENT: upstream took endpos == offset for a file that did not play and
    # failed; Asterisk 22 says so with result=-1, and a key pressed at once
    # also stops at the offset.
    ("streamFile stopped at once", lambda a: a.streamFile("demo", "#"),
     b"200 result=35 endpos=0\n", (35, 0)),
    ("streamFile fails", lambda a: a.streamFile("nosuch"), b"200 result=-1 endpos=0\n",
     error.AGICommandFailure),
    ("tddMode", lambda a: a.tddMode(), b"200 result=1\n", 1),
    ("tddMode not capable", lambda a: a.tddMode(False), b"200 result=0\n", error.AGICommandFailure),
    ("tddMode fails", lambda a: a.tddMode(None), b"200 result=-1\n", error.AGICommandFailure),
    ("waitForDigit fails", lambda a: a.waitForDigit(30), b"200 result=-1\n",
     error.AGICommandFailure),
    ("sendCommand", lambda a: a.sendCommand('GET VARIABLE "X"'), b"200 result=1 (v)\n", "1 (v)"),
    ("sendCommand keyword", lambda a: a.sendCommand(commandString="NOOP"), b"200 result=0\n", "0"),
    ("sendCommand invalid", lambda a: a.sendCommand("FOO"), b"510 Invalid or unknown command\n",
     error.AGIInvalidCommand),
]


@pytest.mark.parametrize("call,reply,expected", [row[1:] for row in UPSTREAM],
                         ids=[row[0] for row in UPSTREAM])
def test_upstreamResultShape(call: Call, reply: bytes, expected: Any) -> None:
    c = Connection()
    d = call(c.agi)
    assert c.take().endswith(b"\n")
    unfired(d)
    c.reply(reply)
    if isinstance(expected, type) and issubclass(expected, Exception):
        assert failure(d).check(expected)
    else:
        got = result(d)
        assert got == expected
        assert isinstance(got, type(expected))  # a str subclass for sendCommand
        assert isinstance(got, bool) == isinstance(expected, bool)
        if isinstance(got, tuple):
            assert [type(item) for item in got] == [type(item) for item in expected]
    assert c.take() == b""


UPSTREAM_COMMANDS = {
    "answer", "channelStatus", "controlStreamFile", "databaseDel", "databaseDeltree",
    "databaseGet", "databaseSet", "databasePut", "execute", "getData", "getOption",
    "getVariable", "hangup", "noop", "playback", "receiveChar", "receiveText", "recordFile",
    "sayAlpha", "sayDate", "sayDigits", "sayNumber", "sayPhonetic", "sayTime", "sayDateTime",
    "sendImage", "sendText", "setAutoHangup", "setCallerID", "setContext", "setExtension",
    "setMusic", "setPriority", "setVariable", "streamFile", "tddMode", "verbose",
    "waitForDigit", "sendCommand",
}


def test_everyUpstreamCommandHasRows() -> None:
    named = {row[0].split()[0] for row in UPSTREAM}
    assert UPSTREAM_COMMANDS <= named, UPSTREAM_COMMANDS - named


def test_sendCommandGivesUpstreamsStringAndTheReply() -> None:
    c = Connection()
    d = c.agi.sendCommand("STREAM FILE", "demo", "#")
    assert c.take() == b"STREAM FILE demo #\n"
    c.reply(b"200 result=35 endpos=100\n")
    response = result(d)
    assert isinstance(response, AGIResponse) and isinstance(response, str)
    assert response == "35 endpos=100" and response.split(" ", 1)[0] == "35"
    assert response.code == 200 and response.result == "35"
    assert response.extra == {"endpos": "100"} and response.resultAsInt() == 35
    assert response.reply.raw == "200 result=35 endpos=100"
    # -1 fails at once, where upstream fired with "-1" and its checkFailure raised.
    d = c.agi.sendCommand("WAIT FOR DIGIT 100")
    c.take()
    c.reply(b"200 result=-1\n")
    assert failure(d).check(error.AGICommandFailure)


def test_responseTextWithoutRawLine() -> None:
    """Replies built without their raw line (AsyncAGI, tests) give the same text."""
    from starpy.codec.agi import AGIReply

    reply = AGIReply(200, "1", data="v a l", extra={"endpos": "5"})
    assert AGIResponse(reply) == "1 (v a l) endpos=5"
    assert AGIResponse(parseReplyText("200 result=0 endpos=8000")) == "0 endpos=8000"


# -- upstream's helpers, chained as upstream code did ---------------------------------

def test_helpersOnUpstreamStrings() -> None:
    agi = Connection().agi
    assert agi.checkFailure("0 endpos=10") == "0 endpos=10"
    with pytest.raises(error.AGICommandFailure):
        agi.checkFailure("-1 endpos=0")
    with pytest.raises(error.AGICommandFailure):
        agi.checkFailure("0", failure="0")
    assert agi.checkFailure("1 (v)", failure="0") == "1 (v)"
    assert agi.resultAsInt("49") == 49 and agi.resultAsInt(" 0 ") == 0
    with pytest.raises(error.AGICommandFailure):
        agi.resultAsInt("1 (v)")
    assert agi.secondResultItem("1 (value here)") == "(value here)"
    assert agi.resultPlusTimeoutFlag("123 (timeout)") == ("123", True)
    assert agi.resultPlusTimeoutFlag("123") == ("123", False)
    assert agi.onRecordingComplete("35 (dtmf) endpos=8000") == (35, "dtmf", 8000)
    with pytest.raises(ValueError):
        agi.onRecordingComplete("-1 (writefile)")
    assert agi.onStreamingComplete("35 endpos=100") == (35, 100)
    with pytest.raises(error.AGICommandFailure):
        agi.onStreamingComplete("0 endpos=0")          # upstream's heuristic, kept here
    with pytest.raises(error.AGICommandFailure):
        agi.onStreamingComplete("0 endpos=800", skipMS=800)
    with pytest.raises(ValueError):
        agi.onStreamingComplete("0")
    assert agi.onControlStreamFileComplete("35 endpos=100") == (35, 100)
    assert agi.onControlStreamFileComplete("0") == (0, None)


def test_helpersOnReplies() -> None:
    """The helpers take this library's replies too (sendCommand's AGIResponse, AGIReply)."""
    agi = Connection().agi
    reply = parseReplyText("200 result=35 (dtmf) endpos=8000")
    assert agi.onRecordingComplete(reply) == (35, "dtmf", 8000)
    assert agi.onRecordingComplete(AGIResponse(reply)) == (35, "dtmf", 8000)
    assert agi.secondResultItem(parseReplyText("200 result=1 (v)")) == "(v)"
    assert agi.resultAsInt(parseReplyText("200 result=49")) == 49
    assert agi.resultPlusTimeoutFlag(parseReplyText("200 result=1 (timeout)")) == ("1", True)
    assert agi.onStreamingComplete(parseReplyText("200 result=0 endpos=5")) == (0, 5)
    assert agi.onControlStreamFileComplete(parseReplyText("200 result=0 endpos=5")) == (0, 5)
    with pytest.raises(error.AGICommandFailure):
        agi.checkFailure(parseReplyText("200 result=0"), failure="0")


def test_upstreamStyleChainsOverSendCommand() -> None:
    """User code that sends its own commands and parses them with upstream's helpers."""
    c = Connection()
    agi = c.agi
    d: Deferred[Any] = agi.sendCommand('SAY ALPHA abc "1"').addCallback(agi.checkFailure).addCallback(
        agi.resultAsInt)
    c.take()
    c.reply(b"200 result=49\n")
    assert result(d) == 49
    d = agi.sendCommand('GET FULL VARIABLE "${CALLERID(num)}"').addCallback(
        agi.checkFailure, failure="0").addCallback(agi.secondResultItem).addCallback(
        lambda value: value[1:-1])
    c.take()
    c.reply(b"200 result=1 (1000)\n")
    assert result(d) == "1000"
    d = agi.sendCommand('STREAM FILE demo "#" 0').addCallback(agi.checkFailure).addCallback(
        agi.onStreamingComplete, skipMS=0)
    c.take()
    c.reply(b"200 result=35 endpos=100\n")
    assert result(d) == (35, 100)
    d = agi.sendCommand('RECORD FILE rec wav "#" 1000').addCallback(agi.onRecordingComplete)
    c.take()
    c.reply(b"200 result=0 (timeout) endpos=8000\n")
    assert result(d) == (0, "timeout", 8000)
    d = agi.sendCommand('GET DATA beep 1000 4').addCallback(agi.resultPlusTimeoutFlag)
    c.take()
    c.reply(b"200 result=12 (timeout)\n")
    assert result(d) == ("12", True)
    d = agi.sendCommand("CONTROL STREAM FILE demo # 3000").addCallback(
        agi.onControlStreamFileComplete)
    c.take()
    c.reply(b"200 result=0 endpos=77\n")
    assert result(d) == (0, 77)


def test_sayXXX() -> None:
    c = Connection()
    d = c.agi.sayXXX("SAY NUMBER", 42, "#")
    assert c.take() == b"SAY NUMBER 42 #\n"
    c.reply(b"200 result=35\n")
    assert result(d) == 35
    d = c.agi.sayXXX("SAY DIGITS", "123")
    assert c.take() == b'SAY DIGITS 123 ""\n'
    c.reply(b"200 result=-1\n")
    assert failure(d).check(error.AGICommandFailure)


def test_dateAsSeconds() -> None:
    agi = Connection().agi
    assert agi.dateAsSeconds(1700000000) == 1700000000
    assert agi.dateAsSeconds(1700000000.7) == 1700000000
    aware = datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc)
    assert agi.dateAsSeconds(aware) == 1700000000
    naive = datetime.datetime(2023, 11, 14, 22, 13, 20)
    assert agi.dateAsSeconds(naive) == int(time.mktime(naive.timetuple()))
    local = time.localtime(1700000000)
    assert agi.dateAsSeconds(local) == 1700000000
    day = datetime.date(2023, 11, 14)
    assert agi.dateAsSeconds(day) == int(time.mktime(day.timetuple()))


def test_digitChar() -> None:
    assert digitChar(49) == "1" and digitChar(35) == "#" and digitChar(42) == "*"
    assert digitChar(0) == ""
    assert digitChar("65") == "A"   # receiveChar's code
    with pytest.raises(ValueError):
        digitChar(-1)


# -- keyword names and signatures -----------------------------------------------------

REQUIRED = object()
#: upstream 1.1.1's FastAGIProtocol methods: (name, [(parameter, default)...]);
#: "*options" and "**kwargs" stand for variable arguments.
UPSTREAM_SIGNATURES: List[Tuple[str, List[Tuple[str, Any]]]] = [
    ("sendCommand", [("commandString", REQUIRED)]),
    ("checkFailure", [("result", REQUIRED), ("failure", "-1")]),
    ("resultAsInt", [("result", REQUIRED)]),
    ("secondResultItem", [("result", REQUIRED)]),
    ("resultPlusTimeoutFlag", [("resultLine", REQUIRED)]),
    ("dateAsSeconds", [("date", REQUIRED)]),
    ("onRecordingComplete", [("resultLine", REQUIRED)]),
    ("onStreamingComplete", [("resultLine", REQUIRED), ("skipMS", 0)]),
    ("jumpOnError", [("reason", REQUIRED), ("difference", 100), ("forErrors", None)]),
    ("finish", []),
    ("onClose", []),
    ("answer", []),
    ("channelStatus", [("channel", None)]),
    ("onControlStreamFileComplete", [("resultLine", REQUIRED)]),
    ("controlStreamFile", [("filename", REQUIRED), ("escapeDigits", REQUIRED), ("skipMS", 0),
                           ("ffChar", "*"), ("rewChar", "#"), ("pauseChar", None)]),
    ("databaseDel", [("family", REQUIRED), ("key", REQUIRED)]),
    ("databaseDeltree", [("family", REQUIRED), ("keyTree", None)]),
    ("databaseGet", [("family", REQUIRED), ("key", REQUIRED)]),
    ("databaseSet", [("family", REQUIRED), ("key", REQUIRED), ("value", REQUIRED)]),
    ("databasePut", [("family", REQUIRED), ("key", REQUIRED), ("value", REQUIRED)]),
    ("execute", [("application", REQUIRED), ("*options", None), ("**kwargs", None)]),
    ("getData", [("filename", REQUIRED), ("timeout", 2.0), ("maxDigits", None)]),
    ("getOption", [("filename", REQUIRED), ("escapeDigits", REQUIRED), ("timeout", None)]),
    ("getVariable", [("variable", REQUIRED)]),
    ("hangup", [("channel", None)]),
    ("noop", [("message", None)]),
    ("playback", [("filename", REQUIRED), ("doAnswer", 1)]),
    ("receiveChar", [("timeout", None)]),
    ("receiveText", [("timeout", None)]),
    ("recordFile", [("filename", REQUIRED), ("format", REQUIRED), ("escapeDigits", REQUIRED),
                    ("timeout", -1), ("offsetSamples", None), ("beep", True),
                    ("silence", None)]),
    ("sayXXX", [("baseCommand", REQUIRED), ("value", REQUIRED), ("escapeDigits", "")]),
    ("sayAlpha", [("string", REQUIRED), ("escapeDigits", None)]),
    ("sayDate", [("date", REQUIRED), ("escapeDigits", None)]),
    ("sayDigits", [("number", REQUIRED), ("escapeDigits", None)]),
    ("sayNumber", [("number", REQUIRED), ("escapeDigits", None)]),
    ("sayPhonetic", [("string", REQUIRED), ("escapeDigits", None)]),
    ("sayTime", [("time", REQUIRED), ("escapeDigits", None)]),
    ("sayDateTime", [("time", REQUIRED), ("escapeDigits", ""), ("format", None),
                     ("timezone", None)]),
    ("sendImage", [("filename", REQUIRED)]),
    ("sendText", [("text", REQUIRED)]),
    ("setAutoHangup", [("time", REQUIRED)]),
    ("setCallerID", [("number", REQUIRED)]),
    ("setContext", [("context", REQUIRED)]),
    ("setExtension", [("extension", REQUIRED)]),
    ("setMusic", [("on", True), ("musicClass", None)]),
    ("setPriority", [("priority", REQUIRED)]),
    ("setVariable", [("variable", REQUIRED), ("value", REQUIRED)]),
    ("streamFile", [("filename", REQUIRED), ("escapeDigits", ""), ("offset", 0)]),
    ("tddMode", [("on", True)]),
    ("verbose", [("message", REQUIRED), ("level", None)]),
    ("waitForDigit", [("timeout", REQUIRED)]),
    ("wait", [("duration", REQUIRED)]),
]

INSEQUENCE_SIGNATURES: List[Tuple[str, List[Tuple[str, Any]]]] = [
    ("append", [("function", REQUIRED), ("*args", None), ("**named", None)]),
    ("__call__", []),
    ("recordResult", [("result", REQUIRED)]),
    ("onActionSuccess", [("result", REQUIRED), ("finalDF", REQUIRED)]),
    ("onActionFailure", [("reason", REQUIRED), ("finalDF", REQUIRED)]),
]

#: Defaults that differ on purpose (README, "From upstream StarPy"): where
#: upstream required an argument, or its default means the same as ours.
SAME_MEANING = {
    ("controlStreamFile", "escapeDigits"): "",     # required upstream
    ("controlStreamFile", "skipMS"): None,         # 3000 ms (Asterisk's); upstream's 0 disabled the keys
    ("getOption", "escapeDigits"): "",             # required upstream
    ("streamFile", "offset"): None,                # None: from the start, as 0
    ("sayAlpha", "escapeDigits"): "",              # None and "": no escape digits
    ("sayDate", "escapeDigits"): "",
    ("sayDigits", "escapeDigits"): "",
    ("sayNumber", "escapeDigits"): "",
    ("sayPhonetic", "escapeDigits"): "",
    ("sayTime", "escapeDigits"): "",
}


def _parameters(function: Callable[..., Any]) -> List[Tuple[str, Any]]:
    found: List[Tuple[str, Any]] = []
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        if parameter.kind is parameter.VAR_POSITIONAL:
            found.append(("*" + parameter.name, None))
        elif parameter.kind is parameter.VAR_KEYWORD:
            found.append(("**" + parameter.name, None))
        elif parameter.kind is parameter.KEYWORD_ONLY:
            continue
        else:
            default = parameter.default
            found.append((parameter.name, REQUIRED if default is parameter.empty else default))
    return found


def _compare(owner: type, name: str, expected: List[Tuple[str, Any]]) -> None:
    ours = _parameters(getattr(owner, name))
    theirFixed = [item for item in expected if not item[0].startswith("*")]
    ourFixed = [item for item in ours if not item[0].startswith("*")]
    # upstream's parameters first, same names, same order...
    assert [n for n, _ in ourFixed[:len(theirFixed)]] == [n for n, _ in theirFixed], (name, ours)
    # ...then only optional ones...
    assert all(default is not REQUIRED for _, default in ourFixed[len(theirFixed):]), (name, ours)
    # ...upstream's variable arguments (sendCommand adds *arguments)...
    ourStars = [n for n, _ in ours if n.startswith("*")]
    assert all(n in ourStars for n, _ in expected if n.startswith("*")), (name, ours)
    # ...and the same defaults, but for the deliberate ones.
    for (parameter, theirs), (_, mine) in zip(theirFixed, ourFixed, strict=False):
        wanted = SAME_MEANING.get((name, parameter), theirs)
        assert mine is wanted if wanted is REQUIRED else mine == wanted, (name, parameter, mine)


@pytest.mark.parametrize("name,expected", UPSTREAM_SIGNATURES,
                         ids=[row[0] for row in UPSTREAM_SIGNATURES])
def test_upstreamSignature(name: str, expected: List[Tuple[str, Any]]) -> None:
    _compare(fastagi.FastAGIProtocol, name, expected)


@pytest.mark.parametrize("name,expected", INSEQUENCE_SIGNATURES,
                         ids=[row[0] for row in INSEQUENCE_SIGNATURES])
def test_upstreamInSequenceSignature(name: str, expected: List[Tuple[str, Any]]) -> None:
    _compare(fastagi.InSequence, name, expected)


def test_keywordNamesOfIssue12() -> None:
    c = Connection()
    d: Deferred[Any] = c.agi.getVariable(variable="X")
    assert c.take() == b"GET VARIABLE X\n"
    c.reply(b"200 result=1 (y)\n")
    assert result(d) == "y"
    d = c.agi.controlStreamFile("demo", "#", skipMS=5000)
    assert c.take() == b"CONTROL STREAM FILE demo # 5000 * #\n"
    c.reply(b"200 result=0 endpos=10\n")
    assert result(d) == (0, 10)
    d = c.agi.controlStreamFile("demo", "#", 1500, "6", "4", "5")
    assert c.take() == b"CONTROL STREAM FILE demo # 1500 6 4 5\n"
    c.reply(b"200 result=0 endpos=10\n")
    d = c.agi.controlStreamFile("demo", "#", skip=2.5)     # the alias, in seconds
    assert c.take() == b"CONTROL STREAM FILE demo # 2500 * #\n"
    c.reply(b"200 result=0 endpos=10\n")
    d = c.agi.controlStreamFile("demo")                    # Asterisk's default skip
    assert c.take() == b'CONTROL STREAM FILE demo "" 3000 * #\n'
    c.reply(b"200 result=0 endpos=10\n")
    d = c.agi.sendCommand(commandString="NOOP")
    assert c.take() == b"NOOP\n"
    c.reply(b"200 result=0\n")
    assert result(d) == "0"
    w = c.agi.wait(duration=1.5)
    c.clock.advance(1.5)
    assert result(w) == 0


def test_playbackOptions() -> None:
    c = Connection()
    c.agi.playback("hello-world", 0)
    assert c.take() == b"EXEC Playback hello-world,noanswer\n"
    c.reply(b"200 result=0\n")
    c.agi.playback("hello-world", doAnswer=-1)
    assert c.take() == b"EXEC Playback hello-world,skip\n"
    c.reply(b"200 result=0\n")
    with pytest.raises(TypeError):      # at once, as upstream
        c.agi.playback("hello-world", 2)
    assert c.take() == b""


def test_earlierKeywordNamesStillWork() -> None:
    c = Connection()
    # The aliases are left out of the signatures on purpose (checked below),
    # so mypy does not know them.
    d: Deferred[Any] = c.agi.getVariable(name="X")  # type: ignore[call-arg]
    assert c.take() == b"GET VARIABLE X\n"
    c.reply(b"200 result=1 (y)\n")
    assert result(d) == "y"
    d = c.agi.sendCommand(command="NOOP")  # type: ignore[call-arg]
    assert c.take() == b"NOOP\n"
    c.reply(b"200 result=0\n")
    assert result(d) == "0"
    w = c.agi.wait(seconds=2)  # type: ignore[call-arg]
    c.clock.advance(2)
    assert result(w) == 0
    with pytest.raises(TypeError):
        c.agi.wait(duration=1, seconds=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        c.agi.getVariable(variable="X", name="Y")  # type: ignore[call-arg]
    assert c.take() == b""
    assert list(inspect.signature(c.agi.wait).parameters) == ["duration"]


def test_aliasConflictsFailBeforeSending() -> None:
    c = Connection()
    assert failure(c.agi.controlStreamFile("demo", "#", skipMS=1000, skip=1.0)).check(TypeError)
    assert failure(c.agi.execute("NoOp", delimiter=",")).check(TypeError)
    assert c.take() == b""


# -- onClose, jumpOnError, InSequence's hooks -----------------------------------------

def test_onCloseFailsWhenTheConnectionEnds() -> None:
    c = Connection()
    closing = c.agi.onClose()
    assert c.agi.onClose() is closing
    unfired(closing)
    c.agi.connectionLost(Failure(ConnectionDone()))
    assert failure(closing).check(ConnectionDone)


def test_jumpOnErrorFiresWithUpstreamsFourResults() -> None:
    c = Connection()
    d = c.agi.jumpOnError(Failure(error.AGICommandFailure("X", 200, "x")))
    for line in (b"SET CONTEXT survey\n", b"SET EXTENSION s\n", b"SET PRIORITY 102\n"):
        assert c.take() == line
        c.reply(b"200 result=0\n")
    assert result(d) == [0, 0, 0, None]
    assert c.transport.disconnecting


def test_inSequenceHooksHaveUpstreamsMeaning() -> None:
    seen: List[Any] = []

    class Logged(InSequence):
        def recordResult(self, result: Any) -> Any:
            seen.append(("record", result))
            return super().recordResult(result * 10)

        def onActionSuccess(self, result: object, finalDF: Deferred[List[Any]]) -> None:
            seen.append(("success", result))
            super().onActionSuccess(result, finalDF)

    later: Deferred[int] = Deferred()
    sequence = Logged()
    sequence.append(lambda: 1)
    sequence.append(lambda: later)
    sequence.append(lambda: 3)
    d = sequence()
    assert sequence.finalDF is d
    unfired(d)
    assert sequence.results == [10]
    later.callback(2)
    assert result(d) == [10, 20, 30]
    assert seen == [("success", None), ("record", 1), ("record", 2), ("success", 20),
                    ("record", 3)]


def test_inSequenceFailureHook() -> None:
    reasons: List[Failure] = []

    class Watched(InSequence):
        def onActionFailure(self, reason: Failure, finalDF: Deferred[List[Any]]) -> None:
            reasons.append(reason)
            super().onActionFailure(reason, finalDF)

    sequence = Watched()
    sequence.append(lambda: "a")
    sequence.append(lambda: defer.fail(error.AGICommandFailure("X", 200, "x")))
    sequence.append(lambda: "never")
    d = sequence()
    reason = failure(d)
    assert reasons == [reason]
    assert reason.check(error.AGICommandFailure) and reason.results == ["a"]  # type: ignore[attr-defined]
    # A direct call, as upstream code may make it.
    final: Deferred[List[Any]] = Deferred()
    Watched().onActionFailure(Failure(ValueError("x")), final)
    assert failure(final).check(ValueError)


def test_inSequenceLongSynchronousRunKeepsTheStackFlat() -> None:
    import sys

    sequence = InSequence()
    count = sys.getrecursionlimit() * 2
    for index in range(count):
        sequence.append(lambda index=index: index)
    assert result(sequence()) == list(range(count))
    assert result(sequence()) == list(range(count))   # callable again


# -- the menu layer on upstream's shapes ----------------------------------------------------

def test_textPromptSpeaksWithFestival() -> None:
    from starpy import menu

    c = Connection()
    d = menu.TextPrompt("hello there").play(c.agi, "12")
    assert c.take() == b'EXEC Festival "hello there,12"\n'
    c.reply(b"200 result=50\n")
    assert result(d) == "2"
    d = menu.TextPrompt("hello").play(c.agi)
    assert c.take() == b"EXEC Festival hello\n"
    c.reply(b"200 result=0\n")
    assert result(d) is None
    d = menu.TextPrompt("hello").play(c.agi)
    c.take()
    c.reply(b"200 result=-1\n")
    assert failure(d).check(error.AGICommandFailure)
    top = menu.fromDict({"prompt": [{"type": "TextPrompt", "value": "hi"}],
                         "options": [{"option": "1"}]})
    assert isinstance(top, menu.Menu) and top.prompt == (menu.TextPrompt("hi"),)


def test_textPromptFieldIsDocumentationOnly() -> None:
    from starpy import menu

    top = menu.Menu(prompt="p", textPrompt="Press 1", options=[menu.Option(option="1")])
    assert top.textPrompt == "Press 1"
    digits = menu.CollectDigits(soundFile="f", textPrompt="Enter digits")
    assert digits.textPrompt == "Enter digits"
    with pytest.raises(error.MenuDefinitionError):
        menu.Menu(prompt="p", textPrompt=5, options=[menu.Option(option="1")])  # type: ignore[arg-type]


def test_promptsReadTheDigitCodes() -> None:
    """Each prompt element turns the command's key code into the key."""
    from starpy import menu

    cases: List[Tuple[menu.Prompt, bytes]] = [
        (menu.AudioPrompt("f"), b"STREAM FILE f 12\n"),
        (menu.NumberPrompt(4), b"SAY NUMBER 4 12\n"),
        (menu.DigitsPrompt(4), b"SAY DIGITS 4 12\n"),
        (menu.AlphaPrompt("a"), b"SAY ALPHA a 12\n"),
        (menu.DateTimePrompt(0), b"SAY DATETIME 0 12\n"),
    ]
    for element, line in cases:
        c = Connection()
        d = element.play(c.agi, "12")
        assert c.take() == line
        c.reply(b"200 result=50 endpos=10\n" if line.startswith(b"STREAM") else b"200 result=50\n")
        assert result(d) == "2"
        d = element.play(c.agi, "12")
        c.take()
        c.reply(b"200 result=0 endpos=10\n" if line.startswith(b"STREAM") else b"200 result=0\n")
        assert result(d) is None


def test_collectAudioTakesARecordingHangupAsAHangup() -> None:
    """recordFile fires with (-1, 'hangup', endpos), as upstream; CollectAudio
    fails with AGIHangup and deletes the temporary recording."""
    from starpy import menu

    discarded: List[str] = []

    class Files:
        def moveIntoPlace(self, agi: Any, temporary: str, final: str, format: str) -> None:
            raise AssertionError("kept a recording cut by a hangup")

        def discard(self, agi: Any, temporary: str, format: str) -> None:
            discarded.append(temporary)

    c = Connection()
    d = menu.CollectAudio(prompt=[], filename="msg", files=Files())(c.agi)
    line = c.take()
    assert line.startswith(b"RECORD FILE msg.tmp-")
    c.reply(b"200 result=-1 (hangup) endpos=4000\n")
    assert failure(d).check(error.AGIHangup)
    assert discarded == [line.split()[2].decode()]


def test_collectPasswordTakesTheExpectedPasswordWhenItRuns() -> None:
    """Upstream's form: CollectPassword(...)(agi, expected)."""
    from starpy import menu

    model = menu.CollectPassword(soundFile="vm-password")
    c = Connection()
    d = model(c.agi, "42")
    assert c.take() == b"STREAM FILE vm-password 0123456789*#ABCD\n"
    c.reply(b"200 result=52 endpos=10\n")          # "4" stops the prompt
    assert c.take() == b"WAIT FOR DIGIT 5000\n"
    c.reply(b"200 result=50\n")
    assert c.take() == b"WAIT FOR DIGIT 5000\n"
    c.reply(b"200 result=35\n")
    ((who, entry),) = result(d)
    assert entry == "42" and isinstance(who, menu.CollectPassword)
    assert "42" not in repr(who)
    # Without a password anywhere it fails before playing anything.
    c = Connection()
    assert failure(model(c.agi)).check(error.MenuDefinitionError)
    assert c.take() == b""
    with pytest.raises(error.MenuDefinitionError):
        model(c.agi, "12#")


def test_textPromptTextWithACommaIsSpokenWhole() -> None:
    """Festival splits its data like application arguments: the text is escaped."""
    from starpy import menu
    from starpy.testing.agi import parseAGIArguments
    from starpy.testing.appargs import separateAppArguments

    c = Connection()
    text = 'Hello, "world" \\ bye'
    menu.TextPrompt(text).play(c.agi, "12")
    words = parseAGIArguments(c.take().decode().rstrip("\n"))
    assert words[:2] == ["EXEC", "Festival"]
    data = words[2].encode()
    assert separateAppArguments(data, 127) == [text.encode(), b"12"]
