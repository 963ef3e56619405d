"""The fast paths taken for speed (issue 14) behave as the general ones."""
from __future__ import annotations

import random
from typing import Any, Callable, Dict, List, Tuple, Union
from unittest import mock

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import error
from starpy.codec.ami import AMICodecError, AMIParser, Message
from tests.deferreds import result
from tests.test_manager import Client
from tests.wire import connect

# -- AMI deadlines: the usual timeout skips the heap ------------------------------


def _timedActions(client: Client, seed: int, changeDefaultAt: int = -1) -> None:
    """Send actions of the default timeout and of others, answer some, and check
    that each unanswered one fails exactly at its own deadline."""
    rng = random.Random(seed)
    deadlines: Dict[int, float] = {}
    ids: Dict[int, str] = {}
    fired: Dict[int, float] = {}

    def timedOut(reason: Failure, index: int) -> None:
        fired[index] = client.clock.seconds()

    for index in range(400):
        if index == changeDefaultAt:
            client.ami.defaultTimeout = 3.0
        if rng.random() < 0.7:
            d = client.ami.sendAction("Ping")
            timeout = client.ami.defaultTimeout
        else:
            timeout = rng.choice([0.5, 2.0, 9.0, 40.0])
            d = client.ami.sendAction("Ping", timeout=timeout)
        assert timeout is not None
        d.addErrback(timedOut, index)
        deadlines[index] = client.clock.seconds() + timeout
        ids[index] = client.lastID()
        client.clock.advance(rng.choice([0.0, 0.0, 0.25]))
    answered = set(rng.sample([i for i in range(400) if i not in fired], 60))
    for index in sorted(answered):
        client.reply(ids[index], ("Ping", "Pong"))
    for _ in range(240):
        client.clock.advance(0.25)
    assert set(fired) == set(range(400)) - answered
    for index, when in fired.items():
        assert deadlines[index] <= when < deadlines[index] + 0.25, index
    assert client.clock.getDelayedCalls() == []
    assert len(client.ami._actions.deadlines) == 0


def test_defaultAndOtherTimeoutsEachExpireAtTheirDeadline() -> None:
    _timedActions(Client(defaultTimeout=10.0), seed=3)


def test_changingTheDefaultTimeoutKeepsEveryDeadline() -> None:
    _timedActions(Client(defaultTimeout=10.0), seed=5, changeDefaultAt=150)


def test_anActionSentWhileOthersExpireDoesNotDelayTheNextDeadline() -> None:
    client = Client(defaultTimeout=10.0)
    first = client.ami.ping()
    client.clock.advance(1.0)
    second = client.ami.ping()
    later: List[Any] = []

    def sendAnother(reason: Failure) -> None:
        later.append(client.ami.ping())  # its deadline: 20 s; second's: 11 s

    first.addErrback(sendAnother)
    client.clock.advance(9.0)
    assert failure_of(first) is None and later
    client.clock.advance(1.0)
    assert isinstance(failure_of(second), error.AMITimeout)
    client.clock.advance(9.0)
    assert isinstance(failure_of(later[0]), error.AMITimeout)
    assert client.clock.getDelayedCalls() == []


def test_aClockGoingBackDoesNotHideADeadline() -> None:
    client = Client(defaultTimeout=10.0)
    client.clock.advance(100.0)
    old = client.ami.ping()
    client.clock.rightNow = 50.0  # the wall clock went back
    new = client.ami.ping()
    client.clock.advance(10.0)
    assert isinstance(failure_of(new), error.AMITimeout)
    client.clock.advance(50.0)
    assert isinstance(failure_of(old), error.AMITimeout)


def failure_of(d: Any) -> Any:
    """The exception *d* failed with (the failure handled), or None."""
    box: List[Any] = []
    d.addErrback(lambda f: box.append(f.value))
    return box[0] if box else None


# -- AGI: a command method's reply is checked before its Deferred fires --------------


def test_agiHistoryNotesEveryWayACommandEnds() -> None:
    from tests.test_fastagi import collect, started

    server = started()
    agi = server.agi
    agi.commandTimeout = 5.0
    answered = agi.answer()
    inFlight = agi.waitForDigit(10)
    queued = agi.streamFile("x")
    later = agi.noop()
    out = collect(answered, inFlight, queued, later)
    server.feed(b"200 result=0\n")  # ANSWER
    queued.cancel()
    inFlight.cancel()
    server.feed(b"200 result=49\n")  # WAIT FOR DIGIT's reply: dropped
    server.clock.advance(5.0)  # NOOP gets no reply
    from twisted.internet import defer

    assert out == [0, defer.CancelledError, defer.CancelledError, error.AGICommandTimeout]
    assert list(agi.history) == [
        ("ANSWER", "200 result=0"),
        ('STREAM FILE x ""', "(no reply: )"),
        ("WAIT FOR DIGIT 10000", "(no reply: )"),
        ("NOOP", "(no reply: NOOP: no reply within 5 seconds)"),
    ]


def test_agiConversionErrorsAndSessionEndReachTheDeferred() -> None:
    from tests.test_fastagi import collect, started

    server = started()
    agi = server.agi
    bad = agi.waitForDigit(1)
    pending = agi.getVariable("X")
    out = collect(bad, pending)
    server.feed(b"200 result=abc\n")  # not a number
    server.agi.connectionLost(Failure(Exception("gone")))
    assert out == [error.AGIReplyError, error.AGIHangup]
    assert [reply for _, reply in agi.history] == [
        "200 result=abc", "(no reply: GET VARIABLE X: FastAGI connection closed before the reply)"]


def test_agiTransportWithItsOwnSendCommandLineStillChecksReplies() -> None:
    from twisted.internet import defer

    from starpy.agi import AGISession
    from starpy.codec.agi import AGIReply

    class Session(AGISession):
        def sendCommandLine(self, line: str) -> "defer.Deferred[AGIReply]":
            self.sent = line
            return defer.succeed(AGIReply(200, "-1", raw="200 result=-1"))

        def finish(self) -> None:
            pass

    session = Session()
    assert not session._queueDirect
    out = collect_(session.answer())
    assert out == [error.AGICommandFailure] and session.sent == "ANSWER"


def collect_(d: Any) -> List[Any]:
    out: List[Any] = []
    d.addBoth(lambda v: out.append(type(v.value) if isinstance(v, Failure) else v))
    return out


def test_agiSendCommandLineWrappedOnASessionStillSeesEveryCommand() -> None:
    from tests.test_fastagi import collect, started

    server = started()
    agi = server.agi
    seen: List[str] = []
    original = agi.sendCommandLine

    def wrapped(line: str) -> Any:
        seen.append(line)
        return original(line)

    agi.sendCommandLine = wrapped  # type: ignore[method-assign]
    out = collect(agi.answer(), agi.getVariable("X"))
    server.feed(b"200 result=0\n200 result=1 (x)\n")
    assert seen == ["ANSWER", "GET VARIABLE X"] and out == [0, "x"]


def test_agiSendCommandLineReplacedOnOneSessionOnlyAndRestored() -> None:
    """sendCommandLine replaced on a session (kept without a look in its
    __dict__, issue 14) applies to that session alone; deleting the
    replacement restores the queue's direct path."""
    from starpy.agi import AGISession
    from tests.test_fastagi import collect, started

    first, second = started(), started()
    seen: List[str] = []
    original = first.agi.sendCommandLine

    def wrapped(line: str) -> Any:
        seen.append(line)
        return original(line)

    first.agi.sendCommandLine = wrapped  # type: ignore[method-assign]
    assert first.agi.sendCommandLine is wrapped
    assert second.agi.sendCommandLine.__func__ is AGISession.sendCommandLine  # type: ignore[attr-defined]
    out = collect(first.agi.answer(), second.agi.answer())
    first.feed(b"200 result=0\n")
    second.feed(b"200 result=0\n")
    del first.agi.sendCommandLine
    later = collect(first.agi.noop())
    first.feed(b"200 result=0\n")
    assert seen == ["ANSWER"] and out == [0, 0] and later == [0]
    assert first.agi.sendCommandLine.__func__ is AGISession.sendCommandLine  # type: ignore[attr-defined]
    assert AGISession.sendCommandLine.__name__ == "sendCommandLine"


# -- AGI: command lines made once and reused ---------------------------------------


def test_agiReusedLinesKeepTheQuotingOfEachArgumentType() -> None:
    from starpy.agi import _arguments
    from tests.test_fastagi import collect, started

    _arguments.LINES.clear()
    server = started()
    agi = server.agi
    sent = []
    values: List[Union[str, int, float]] = [1, 1.0, 1, "1", 1.5]
    for value in values:
        agi.setVariable("X", value)
        sent.append(server.take())
        server.feed(b"200 result=1\n")
    # True is equal to 1, and a bool is refused where 1 was sent
    out = collect(agi.setVariable("X", True), agi.setVariable("X", [1]))  # type: ignore[arg-type]
    assert out == [TypeError, TypeError] and server.take() == b""
    assert sent == [b"SET VARIABLE X 1\n", b"SET VARIABLE X 1.0\n", b"SET VARIABLE X 1\n",
                    b"SET VARIABLE X 1\n", b"SET VARIABLE X 1.5\n"]
    assert ("SET VARIABLE", ("X", 1)) in _arguments.LINES
    assert not any(isinstance(value, float) for _, values in _arguments.LINES
                   for value in values)


def test_agiReusedLinesStayWithinEachSessionsLimit() -> None:
    from starpy.agi import _arguments
    from tests.test_fastagi import Server, collect, env

    _arguments.LINES.clear()
    long = "x" * 3000
    new = Server(lambda agi: None)
    new.feed(b"agi_version: 22.6.0\n" + env("hello"))
    old = Server(lambda agi: None)
    old.feed(b"agi_version: 18.20.2\n" + env("hello"))
    assert new.agi.variables["agi_version"] == "22.6.0"
    assert old.agi.variables["agi_version"] == "18.20.2"
    for _ in range(2):
        assert collect(new.agi.verbose(long)) == []
        assert new.take() == b'VERBOSE ' + long.encode() + b"\n"
        new.feed(b"200 result=1\n")
        assert collect(old.agi.verbose(long)) == [error.LocalProtocolError] and old.take() == b""
    assert not any(values == (long,) for _, values in _arguments.LINES)


def test_agiReusedLinesAreBounded() -> None:
    from starpy.agi import _arguments
    from tests.test_fastagi import started

    server = started()
    agi = server.agi
    for index in range(_arguments.LINES_KEPT * 2 + 10):
        agi.setVariable("X", str(index))
        assert server.take() == b"SET VARIABLE X %d\n" % (index,)
        server.feed(b"200 result=1\n")
        assert len(_arguments.LINES) <= _arguments.LINES_KEPT


def test_fastagiReadsEveryDialplanArgument() -> None:
    from tests.test_fastagi import Server, env

    for count in (0, 1, 16, 17, 40):
        values = ["v%d" % (index,) for index in range(count)]
        server = Server(lambda agi: None)
        server.feed(env("hello", *values))
        assert server.agi.arguments == values
        server = Server(lambda agi: None)
        server.feed(env("hello", *values).replace(b"agi_arg_3:", b"x_arg_3:"))
        assert server.agi.arguments == values[:2]


# -- AMI deadlines: one action after another keeps one timer ---------------------


def test_actionsSentFromThePreviousReplyKeepOneTimerAndLeaveNoneBehind() -> None:
    from twisted.internet import task
    from twisted.internet.testing import StringTransport

    from starpy.manager import AMIProtocol
    from tests.deferreds import failure

    class CountingClock(task.Clock):
        made = 0

        def callLater(self, *args: Any, **kw: Any) -> Any:
            self.made += 1
            return super().callLater(*args, **kw)

    client = Client()
    clock = client.clock = CountingClock()
    client.ami = AMIProtocol(clock=clock, defaultTimeout=30.0)
    client.transport = StringTransport()
    connect(client.ami, client.transport)
    client.feed(b"Asterisk Call Manager/11.0.0\r\n")
    answered: List[Any] = []

    def sendNext(ignored: Any = None) -> None:
        if len(answered) < 200:
            client.ami.ping().addCallback(answered.append).addCallback(sendNext)

    sendNext()
    while len(answered) < 200:
        clock.advance(0.1)  # 20 s in all: the first deadline is not reached
        client.reply(client.lastID(), ("Ping", "Pong"))
    assert clock.made == 1  # not one timer per action
    assert clock.getDelayedCalls() == []  # the last reply left no timer behind
    late = client.ami.ping()
    clock.advance(30.0)
    assert failure(late).check(error.AMITimeout) and clock.made == 2


# -- AGI: usual reply lines converted without a reply object -------------------------

# The commands whose conversions read the reply line itself (LINE_CONVERSIONS),
# with and without the -1 check, and one whose conversion does not.
_LINE_COMMANDS = [
    lambda agi: agi.answer(),
    lambda agi: agi.verbose("x", 1),  # -1 is not a failure
    lambda agi: agi.getVariable("X"),
    lambda agi: agi.databaseGet("f", "k"),
    lambda agi: agi.streamFile("x"),
    lambda agi: agi.controlStreamFile("x", "#"),
    lambda agi: agi.sendCommand("NOOP"),
    lambda agi: agi.execute("Playback", "beep"),
]

_LINE_PIECES = ["0", "1", "-1", "-2", "49", " ", "(", ")", "x", "=", "endpos=", "24000",
                "\t", "+1", "1_0", "\u0661", "\u00b2", '"', "(timeout)", "a b"]


def _outcome(d: Any) -> Any:
    out: List[Any] = []
    d.addBoth(out.append)
    value = out[0]
    if isinstance(value, Failure):
        return (value.type, str(value.value))
    return (type(value), value)


def _replied(command: int, line: str, fast: bool) -> Any:
    from starpy.codec.agi import parseUsualReply
    from tests.test_fastagi import started

    server = started()
    agi = server.agi
    # (every other line answered while replies are hidden)
    with agi.maskingReplies() if len(line) % 2 else _nothing():
        d = _LINE_COMMANDS[command](agi)
        if fast:
            server.feed(line.encode() + b"\n")
        else:
            assert agi.commands.inFlight is not None
            agi.commands.complete(agi.commands.inFlight, parseUsualReply(line))
    return _outcome(d), list(agi.history), agi.hungUp


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def test_agiUsualReplyLinesConvertAsTheParsedReply() -> None:
    """FastAGI hands a usual "200 result=" line to the queue unparsed, and the
    session converts the usual forms from the text (issue 14): every command
    ends as it would with the parsed reply (value or error, history)."""
    rng = random.Random(14)
    lines = ["200 result=0", "200 result=1 (v a l)", "200 result=-1", "200 result=0 endpos=5",
             "200 result=1 ()", "200 result=1 (a) b)", "200 result=", "200 result=0 endpos=",
             "200 result=-1 endpos=3", "200 result=0 endpos=\u00b2", "200 result=1 (x) endpos=2"]
    for _ in range(400):
        lines.append("200 result=" + "".join(rng.choice(_LINE_PIECES)
                                             for _ in range(rng.randrange(5))))
    for line in lines:
        for command in range(len(_LINE_COMMANDS)):
            assert _replied(command, line, True) == _replied(command, line, False), (command, line)


def test_agiUsualReplyLinesAreNotParsed(monkeypatch: Any) -> None:
    """The usual replies of the commands of the reference W3 workload reach
    their Deferreds without a reply object (issue 14)."""
    from starpy.agi import _queue
    from starpy.codec.agi import _replies
    from tests.test_fastagi import started

    def refused(*args: Any) -> Any:
        raise AssertionError("parsed")

    monkeypatch.setattr(_queue, "parseUsualReply", refused)
    monkeypatch.setattr(_replies, "_parseResult200", refused)
    server = started()
    agi = server.agi
    out: List[Any] = []
    calls: List[Tuple[Callable[[], Deferred[Any]], str]] = [
        (agi.answer, "200 result=0"), (lambda: agi.getVariable("X"), "200 result=1 (v)"),
        (lambda: agi.streamFile("x"), "200 result=0 endpos=8"),
        (lambda: agi.waitForDigit(1), "200 result=49"),
        (lambda: agi.databaseGet("f", "k"), "200 result=1 (d)"),
        (lambda: agi.execute("Playback", "beep"), "200 result=0")]
    for call, reply in calls:
        call().addBoth(out.append)
        server.feed(reply.encode() + b"\n")
    assert out == [0, "v", (0, 8), 49, "d", "0"]
    assert [reply for _, reply in agi.history] == [
        "200 result=0", "200 result=1 (v)", "200 result=0 endpos=8", "200 result=49",
        "200 result=1 (d)", "200 result=0"]


def test_fastagiUsualEnvironmentTakesTheWholeBlockPath(monkeypatch: Any) -> None:
    """The environment block in one chunk is read without the decoder's
    general path (issue 14), and traced as that path traces it."""
    from starpy.codec import agi as codec
    from tests.test_fastagi import Server, env

    def refused(*args: Any) -> Any:
        raise AssertionError("general path")

    server = Server(lambda agi: None)
    server.agi.setTrace(True)
    traced: List[List[str]] = []
    monkeypatch.setattr(server.agi.tracer, "received", traced.append)
    monkeypatch.setattr(codec.AGIDecoder, "feed", refused)
    server.feed(env("hello"))
    assert server.agi.environmentSeen and server.agi.scriptPath == "hello"
    assert traced[0][-1] == "" and traced[0][0].startswith("agi_network: ")
    assert len(traced[0]) == len(server.agi.variables) + 1


# -- AMI: sendAction's fast path for actions without headers --------------------


def test_amiActionsWithoutHeadersAreSentAsTheGeneralPathSendsThem() -> None:
    """The first Ping goes the general way (and caches its head), the next ones
    the fast way: same bytes but for the counter, same replies and tracing."""
    client = Client()
    general = Client()
    traced: List[Any] = []
    client.ami.setTrace(True)
    with mock.patch.object(client.ami.tracer, "sent", traced.append):
        pings = [client.ami.sendAction("Ping") for _ in range(3)]
    assert "Ping" in client.ami._heads
    data = client.transport.value()
    prefix = client.ami.actionIDPrefix
    assert data == b"".join(b"Action: Ping\r\nActionID: %s%d\r\n\r\n" % (prefix.encode(), n)
                            for n in (1, 2, 3))
    assert traced == [["Action: Ping", "ActionID: %s%d" % (prefix, n), ""] for n in (1, 2, 3)]
    # The general path, for comparison: an explicit timeout equal to the default.
    other = general.ami.sendAction("Ping", timeout=general.ami.defaultTimeout)
    assert general.transport.value().replace(general.ami.actionIDPrefix.encode(), b"") == \
        data.split(b"\r\n\r\n")[0].replace(prefix.encode(), b"") + b"\r\n\r\n"
    client.transport.clear()
    answers: List[Any] = []
    for n, d in enumerate(pings, 1):
        client.reply("%s%d" % (prefix, n), ("Ping", "Pong"))
        answers.append(result(d))
        assert answers[-1]["ping"] == "Pong" and answers[-1]["actionid"] == "%s%d" % (prefix, n)
    general.reply(general.ami.actionIDPrefix + "1", ("Ping", "Pong"))
    answer = result(other)
    assert answer == answers[0] | {"actionid": answer["actionid"]}
    assert client.ami.pendingCount == 0 and len(client.ami._actions.deadlines) <= 3


def test_amiFastPathActionsTimeOutAndCancelAsTheOthers() -> None:
    client = Client()
    first = client.ami.sendAction("CoreStatus")
    second = client.ami.sendAction("CoreStatus")
    third = client.ami.sendAction("CoreStatus")
    third.cancel()
    assert isinstance(failure_of(third), defer.CancelledError)
    assert client.ami.pendingCount == 2
    client.clock.advance(client.ami.defaultTimeout or 0)
    assert isinstance(failure_of(first), error.AMITimeout)
    assert isinstance(failure_of(second), error.AMITimeout)
    assert client.ami.pendingCount == 0


def test_amiFastPathKeepsLogoffOverriddenActionIDsAndClosedConnections() -> None:
    client = Client()
    sent = [client.ami.sendAction("Logoff"), client.ami.sendAction("Logoff")]
    assert "Logoff" not in client.ami._heads and client.ami.loggingOff
    ids = iter(["mine-1", "mine-2"])
    own = Client(ids=ids)
    sent += [own.ami.sendAction("Ping"), own.ami.sendAction("Ping")]
    assert [m["actionid"] for m in own.sent()] == ["mine-1", "mine-2"]
    assert own.ami._heads == {}
    sent += [client.ami.sendAction("Ping"), client.ami.sendAction("Ping")]
    client.ami.connectionLost(Failure(Exception("gone")))
    lost = client.ami.sendAction("Ping")
    assert isinstance(failure_of(lost), error.AMIConnectionLost)
    for d in sent:
        d.addErrback(lambda f: None)


def test_amiFastPathHeadsAreBounded() -> None:
    client = Client()
    for n in range(200):
        client.ami.sendAction("Action%d" % n).addErrback(lambda f: None)
    assert 0 < len(client.ami._heads) <= 64
    client.ami.sendAction("\u00e9t\u00e9")  # not ASCII: the general path only
    assert "\u00e9t\u00e9" not in client.ami._heads


# -- AMI codec: a chunk without old-style output is split at once ----------------


class _GeneralParser(AMIParser):
    """An AMIParser that always takes feed's general way."""

    def feed(self, data: bytes) -> List[Message]:
        if self._failed:
            raise AMICodecError("parser already failed")
        return self._feedBuffered(data)


def _amiOutcome(parser: AMIParser, chunks: List[bytes]) -> List[Any]:
    seen: List[Any] = []
    for chunk in chunks:
        try:
            messages = parser.feed(chunk)
        except AMICodecError as e:
            seen.append(("failed", str(e)))
            continue
        seen.extend((dict(m), m.headers(), m.body) for m in messages)
    seen.append(("left", bytes(parser._buffer), parser._state))
    return seen


_PIECES = [
    b"Response: Success\r\nActionID: a-1\r\nPing: Pong\r\nTimestamp: 1.0\r\n\r\n",
    b"Event: Newchannel\r\nChannel: SIP/1\r\nUniqueid: 1.2\r\n\r\n",
    b"Response: Follows\r\nPrivilege: Command\r\nline one\r\n\r\nline two\r\n--END COMMAND--\r\n\r\n",
    b"Response: Follows\r\nActionID: x\r\nOutput: done\r\n\r\n",
    b"\r\n",
    b"\r\nResponse: Follows\r\nout\n--END COMMAND--\r\n\r\n",
    b"Event: VarSet\r\nVariable: A\r\nVariable: B\r\nmalformed\r\n\r\n",
    b"Response: Error\r\nMessage: " + b"x" * 300 + b"\r\n\r\n",
]


def test_amiParserSplitChunksAsTheGeneralWay() -> None:
    rng = random.Random(14)
    for _ in range(300):
        stream = b"Asterisk Call Manager/9.0.0\r\n" + b"".join(
            rng.choice(_PIECES) for _ in range(rng.randint(1, 12)))
        cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 6))))
        chunks = [stream[a:b] for a, b in zip([0] + cuts, cuts + [len(stream)], strict=True)]
        size = rng.choice([1024 * 1024, 200, 400])
        assert _amiOutcome(AMIParser(size), chunks) == _amiOutcome(_GeneralParser(size), chunks)


def test_amiParserSplitPathTakesTheUsualChunks() -> None:
    parser = AMIParser()
    parser.feed(b"Asterisk Call Manager/9.0.0\r\n")
    taken: List[int] = []
    general = parser._feedBuffered
    parser._feedBuffered = lambda data: taken.append(len(data)) or general(data)  # type: ignore
    stream = _PIECES[0] * 3 + _PIECES[1]
    assert len(parser.feed(stream[:100])) == 1
    assert len(parser.feed(stream[100:])) == 3
    assert taken == []
    parser.feed(_PIECES[2])
    assert taken == [len(_PIECES[2])]
    parser.feed(_PIECES[0][:10])  # too short to tell: the general way
    parser.feed(_PIECES[0][10:])
    assert taken == [len(_PIECES[2]), len(_PIECES[0]) - 10]


def test_amiPlainPendingIsThePendingTheClassMakes() -> None:
    from starpy.manager._actions import Pending, plainPending

    client = Client()
    table = client.ami._actions
    made = Pending("Ping", "id-1", None, table)
    plain = plainPending("Ping", "id-1", table)
    for name in Pending.__slots__ + ("deadline", "done"):
        if name != "deferred":
            assert getattr(plain, name) == getattr(made, name), name
    assert type(plain.deferred) is type(made.deferred)
    assert plain.deferred._canceller.__func__ is made.deferred._canceller.__func__  # type: ignore
    assert plain.deferred._canceller.__self__ is plain  # type: ignore


def test_amiUsualResponseAfterEarlyEventsOrAnOpenListGoesTheTablesWay() -> None:
    """messageReceived settles a plain action from its one flag: events that came
    early, or a list that opened, take the flag down."""
    client = Client()
    seen: List[Any] = []
    client.ami.registerEvent(None, lambda ami, event: seen.append(event["event"]))
    early = client.ami.sendAction("Ping")
    actionID = client.lastID()
    client.feed(b"Event: Early\r\nActionID: " + actionID.encode() + b"\r\n\r\n")
    assert seen == [] and not client.ami._pending[actionID].plain
    client.reply(actionID)
    assert result(early)["response"] == "Success" and seen == ["Early"]
    listing = client.ami.sendAction("Status")
    actionID = client.lastID()
    client.reply(actionID, ("EventList", "start"))
    client.reply(actionID)  # a second response: dropped, the list still open
    assert not listing.called
    client.feed(b"Event: StatusComplete\r\nActionID: " + actionID.encode()
                + b"\r\nEventList: Complete\r\n\r\n")
    assert len(result(listing)) == 2


def test_amiMessagesWithNamesCachedOrNotParseAsTheGeneralWay() -> None:
    from starpy.codec import ami

    rng = random.Random(140)
    names = ["Event", "Channel", "ActionID", "Response", "X-New%d", "Odd Name", "Value:x", ""]
    values = ["", "v", " lead", "a: b", "Follows", "x\u00e9"]
    ami._LOWER_NAMES.clear()
    for _ in range(2000):
        lines = []
        for _ in range(rng.randint(1, 6)):
            name = rng.choice(names).replace("%d", str(rng.randint(0, 3)))
            lines.append(rng.choice(["%s: %s", "%s:%s", "%s %s"]) % (name, rng.choice(values)))
        text = "\r\n".join(lines)
        fast = AMIParser._parseBlock(text.encode())
        general = AMIParser._parseLines(text)
        assert (dict(fast), fast.headers(), fast.body, fast.getAll("channel")) == \
            (dict(general), general.headers(), general.body, general.getAll("channel")), text
    assert 0 < len(ami._LOWER_NAMES) <= ami._MAX_LOWER_NAMES
