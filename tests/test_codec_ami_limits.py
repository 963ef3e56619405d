"""What Asterisk 22 discards when it reads an action, and the parser's cost.

The actions StarPy encodes are read back by a model of Asterisk's reader
(tests/amireader.py); the parser is fed large messages in small pieces and
the bytes it searches are counted.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from starpy import error
from starpy.codec.ami import (
    MAX_ACTION_HEADERS,
    MAX_LINE_BYTES,
    AMICodecError,
    AMIParser,
    Message,
    checkHeaderLine,
    formatAction,
    formatMessage,
)
from tests.amireader import (
    LINE_TOO_LONG,
    TOO_MANY_LINES,
    ManagerReader,
    ReadAction,
    ReadError,
)


def readBack(data: bytes, readSizes: Sequence[int] = ()) -> List[Any]:
    return ManagerReader().feed(data, readSizes)


# -- the model itself agrees with what Asterisk answered ------------------------


def test_modelDiscardsALineThatDoesNotFitWithItsCrlf() -> None:
    fits = b"Action: UserEvent\r\nX: " + b"a" * (MAX_LINE_BYTES - 3) + b"\r\n\r\n"
    (action,) = readBack(fits)
    assert isinstance(action, ReadAction)
    assert action.headers()[1] == ("X", "a" * (MAX_LINE_BYTES - 3))
    tooLong = b"Action: UserEvent\r\nX: " + b"a" * (MAX_LINE_BYTES - 2) + b"\r\n\r\n"
    outcomes = readBack(tooLong)
    assert isinstance(outcomes[0], ReadError) and outcomes[0].message == LINE_TOO_LONG


def test_modelRefusesMoreThan128HeaderLines() -> None:
    lines = b"Action: UserEvent\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(128))
    (outcome,) = readBack(lines + b"\r\n")
    assert outcome == ReadError(TOO_MANY_LINES)
    (outcome,) = readBack(b"Action: UserEvent\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(127))
                          + b"\r\n")
    assert isinstance(outcome, ReadAction) and len(outcome.lines) == 128


def test_modelCutsAValueAtNulAndSkipsLeadingBlanks() -> None:
    (action,) = readBack(b"Action: Setvar\r\nValue:  \tab\x00cd\r\n\r\n")
    assert action.headers() == [("Action", "Setvar"), ("Value", "ab")]


# -- what formatAction refuses --------------------------------------------------


def test_longestLineAcceptedAndOneByteMoreRefused() -> None:
    # "X: " is 3 bytes: a value of MAX_LINE_BYTES - 3 bytes makes the line exactly fit.
    value = "a" * (MAX_LINE_BYTES - 3)
    data = formatAction("UserEvent", [("X", value)], "id-1")
    (action,) = readBack(data)
    assert isinstance(action, ReadAction) and ("X", value) in action.headers()
    with pytest.raises(ValueError) as caught:
        formatAction("UserEvent", [("X", value + "a")], "id-1")
    assert str(MAX_LINE_BYTES) in str(caught.value) and "'X'" in str(caught.value)


def test_lineLengthCountedInUtf8BytesNotCharacters() -> None:
    euro = "\u20ac"  # three bytes in UTF-8
    fits = euro * ((MAX_LINE_BYTES - 3) // 3)
    formatAction("UserEvent", [("X", fits)], "id-1")
    with pytest.raises(ValueError, match=str(MAX_LINE_BYTES)):
        formatAction("UserEvent", [("X", fits + euro)], "id-1")
    assert len(fits + euro) < MAX_LINE_BYTES  # characters alone would pass


def test_longActionNameRefusedAlsoWithoutHeaders() -> None:
    with pytest.raises(ValueError, match="'Action'"):
        formatAction("A" * 1100, None, "id-1")


def test_secretTooLongRefusedWithoutShowingIt() -> None:
    with pytest.raises(ValueError) as caught:
        formatAction("Login", [("Username", "u"), ("Secret", "s3cr3t" * 200)], "id-1")
    assert "s3cr3t" not in str(caught.value)


def test_headerCountLimitCountsActionAndActionid() -> None:
    most = [("H%d" % i, "v") for i in range(MAX_ACTION_HEADERS - 2)]
    (action,) = readBack(formatAction("UserEvent", most, "id-1"))
    assert isinstance(action, ReadAction) and len(action.lines) == MAX_ACTION_HEADERS
    with pytest.raises(ValueError, match=str(MAX_ACTION_HEADERS)):
        formatAction("UserEvent", most + [("One", "more")], "id-1")
    with pytest.raises(ValueError, match=str(MAX_ACTION_HEADERS)):
        formatAction("Originate", {"Variable": ["V%d=1" % i for i in range(200)]}, "id-1")


@pytest.mark.parametrize("headers", [
    [("Channel", "SIP/a\x00b")],
    [("Na\x00me", "x")],
    [("Secret", "top\x00secret")],
])
def test_nulRefusedLikeCrAndLf(headers: List[Tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match="NUL") as caught:
        formatAction("Login", headers, "id-1")
    assert "top" not in str(caught.value) and "SIP" not in str(caught.value)


def test_nulRefusedInActionName() -> None:
    with pytest.raises(ValueError, match="NUL"):
        formatAction("Ping\x00", None, "id-1")


@pytest.mark.parametrize("value", [" x", "\tx", " ", "\x01x"])
def test_valueWithLeadingBlankRefused(value: str) -> None:
    with pytest.raises(ValueError, match="space or control"):
        formatAction("UserEvent", [("X", value)], "id-1")
    with pytest.raises(ValueError, match="space or control"):
        formatAction(value, None, "id-1")


def test_emptyValuesAndInnerBlanksStillSent() -> None:
    data = formatAction("UserEvent", [("Empty", ""), ("Inner", "a  b "), ("N", -1)], "id-1")
    (action,) = readBack(data)
    assert action.headers()[2:] == [("Empty", ""), ("Inner", "a  b "), ("N", "-1")]


def test_emptyActionNameRefused() -> None:
    with pytest.raises(ValueError, match="empty"):
        formatAction("", None, "id-1")


def test_serverSideMessagesKeepTheirFreedom() -> None:
    """formatMessage (the fake Asterisk's events) is not bound by the reader of actions."""
    output = [("Response", "Success"), ("Output", "  indented")] + [("Output", "x")] * 200
    assert Message(output) == AMIParser(expectBanner=False).feed(formatMessage(output))[0]


# -- the property: Asterisk reads back exactly what was given, or it was refused --

_awkward = st.sampled_from(list(",\"\\=: \t|;'$") + ["\u20ac", "\u00e9", "\udcff", "\U0001f600"])
_clean = st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00")
_BLANKS = "".join(map(chr, range(33)))
# Any text; values starting with a blank come from _blankFirst.
_text = st.text(alphabet=st.one_of(_clean, _awkward), max_size=30).map(lambda v: v.lstrip(_BLANKS))
# Now and then what Asterisk would cut, skip or split on: CR, LF, NUL, blanks first.
_hostile = st.builds(lambda head, bad, tail: head + bad + tail, _text,
                     st.sampled_from(["\r", "\n", "\x00", "\r\nAction: Hangup", "\x85"]), _text)
_blankFirst = st.builds(lambda blank, tail: blank + tail, st.sampled_from([" ", "\t", "\x01", "\x1f"]), _text)
# Long values, around the line limit in bytes whatever the width of the characters.
_long = st.sampled_from(["a", "\u00e9", "\u20ac", "\U0001f600"]).flatmap(
    lambda char: st.builds(lambda head, count, tail: head + char * count + tail,
                           _text, st.integers(900 // len(char.encode()), 1030 // len(char.encode())),
                           _text))
_goodValues = st.one_of(_text, _text, _long, st.integers(-10**6, 10**6))
_goodNames = st.one_of(
    st.sampled_from(["Channel", "Variable", "Value", "Exten", "X-Custom", "variable"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
            min_size=1, max_size=12),
)
_badPair = st.one_of(
    st.tuples(_goodNames, st.one_of(_hostile, _blankFirst)),
    st.tuples(st.text(alphabet=st.one_of(st.characters(min_codepoint=33, max_codepoint=126), _awkward,
                                         st.sampled_from(["\r", "\n", "\x00", "\t"])), max_size=12),
              _goodValues),
)
_actions = st.sampled_from(["Originate", "UserEvent", "Setvar", "Ping"])
_goodLists = st.lists(st.tuples(_goodNames, _goodValues), max_size=8)
_headers = st.one_of(
    _goodLists,
    _goodLists,
    st.builds(lambda pairs, bad, where: pairs[:where] + [bad] + pairs[where:],
              _goodLists, _badPair, st.integers(0, 8)),
    st.integers(MAX_ACTION_HEADERS - 4, MAX_ACTION_HEADERS + 1).map(
        lambda n: [("H%d" % i, "v%d" % i) for i in range(n)]),
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_actions, _actions, _actions, _text, _blankFirst), _headers,
       st.lists(st.integers(1, 1024), max_size=20))
def test_asteriskReadsBackExactlyWhatWasSentOrItWasRefused(
        action: str, headers: List[Tuple[str, Any]], readSizes: List[int]) -> None:
    try:
        data = formatAction(action, headers, "starpy-1")
    except ValueError:
        return  # refused before anything was written
    outcomes = ManagerReader().feed(data + formatAction("Ping", None, "starpy-2"), readSizes)
    expected: List[Tuple[str, Optional[str]]] = [("Action", action), ("ActionID", "starpy-1")]
    expected.extend((name, str(value)) for name, value in headers)
    assert [o.headers() if isinstance(o, ReadAction) else o for o in outcomes] == [
        expected, [("Action", "Ping"), ("ActionID", "starpy-2")]]


# -- the parser's cost is linear in what it receives ---------------------------


class CountingBuffer(bytearray):
    """The parser's buffer, counting the bytes each search and append touches."""

    work = 0

    def find(self, sub: Any, start: Any = None, end: Any = None) -> int:
        first = 0 if start is None else start
        last = len(self) if end is None else min(end, len(self))
        found = super().find(sub, first, last)
        CountingBuffer.work += (last - first) if found < 0 else (found - first + len(sub))
        return found

    def startswith(self, prefix: Any, start: Any = None, end: Any = None) -> bool:
        CountingBuffer.work += len(prefix)
        return super().startswith(prefix, start, end)

    def __iadd__(self, other: object, /) -> "CountingBuffer":
        # As wide as bytearray's and MutableSequence's, so mypy accepts it.
        assert isinstance(other, (bytes, bytearray, memoryview)), other
        CountingBuffer.work += len(other)
        super().__iadd__(other)
        return self


class CountingParser(AMIParser):
    _bufferType = CountingBuffer


def feedInPieces(parser: AMIParser, data: bytes, size: int) -> List[Message]:
    messages: List[Message] = []
    for start in range(0, len(data), size):
        messages.extend(parser.feed(data[start:start + size]))
    return messages


@pytest.mark.parametrize("piece", [1, 7, 64, 1500])
def test_oneMegabyteMessageInSmallPiecesCostsLinearWork(piece: int) -> None:
    value = b"x" * (1 << 20)
    data = b"Asterisk Call Manager/11.0.0\r\nEvent: Big\r\nData: " + value + b"\r\n\r\n"
    if piece == 1:
        data = data[:100_000]  # one call per byte: keep the test quick
    parser = CountingParser(maxMessageSize=2 << 20)
    CountingBuffer.work = 0
    messages = feedInPieces(parser, data, piece)
    assert isinstance(parser._buffer, CountingBuffer)
    # Each byte is appended once and searched a bounded number of times, and
    # a search resumes at most a terminator's length back; a rescan of the
    # buffered bytes per piece would cost about len(data)**2 / (2 * piece).
    feeds = -(-len(data) // piece)
    assert CountingBuffer.work <= 4 * len(data) + 8 * feeds
    if piece > 1:
        assert [m["data"] for m in messages] == [value.decode()]


def test_bannerAndOldCommandOutputInPiecesCostLinearWork() -> None:
    output = b"line\n" * 40_000 + b"\n" * 100 + b"--END COMMAND--\r\n\r\n"
    data = (b"Asterisk Call Manager/1.0\r\n"
            b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n\r\n" + output)
    parser = CountingParser()
    CountingBuffer.work = 0
    (message,) = feedInPieces(parser, data, 64)
    assert CountingBuffer.work <= 4 * len(data)
    (whole,) = AMIParser().feed(data)
    assert message.body == whole.body and message.body.count("line") == 40_000
    banner = b"Asterisk Call Manager" + b" " * 200_000 + b"/1.0\r\n"
    parser = CountingParser()
    CountingBuffer.work = 0
    feedInPieces(parser, banner, 64)
    assert CountingBuffer.work <= 4 * len(banner)
    assert parser.banner is not None and parser.banner.endswith("/1.0")


def test_boundStillHoldsWhenTheMessageComesInPieces() -> None:
    parser = AMIParser(maxMessageSize=4096)
    parser.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: Big\r\n")
    with pytest.raises(AMICodecError) as caught:
        for _ in range(100):
            parser.feed(b"Data: " + b"x" * 58)
    assert isinstance(caught.value, error.AMIProtocolError)
    assert len(parser._buffer) == 0
    old = AMIParser(maxMessageSize=4096, expectBanner=False)
    with pytest.raises(AMICodecError):
        for _ in range(100):
            old.feed(b"Response: Follows\r\n\r\n" if _ == 0 else b"y" * 64 + b"\r\n\r\n")


def test_manySmallMessagesInOneChunkCostLinearWork() -> None:
    one = b"Event: Newexten\r\nChannel: PJSIP/100-0001\r\nExten: 100\r\n\r\n"
    data = b"Asterisk Call Manager/11.0.0\r\n" + one * 5000 + b"\r\n" * 2000 + one
    parser = CountingParser()
    CountingBuffer.work = 0
    messages = feedInPieces(parser, data, 65536)
    assert len(messages) == 5001
    assert CountingBuffer.work <= 4 * len(data)


def test_oldCommandOutputEndingAChunkThenPlainMessages() -> None:
    parser = AMIParser(expectBanner=False)
    assert parser.feed(b"Response: Follows\r\nActionID: 1\r\n\r\nout\n\nmore\n") == []
    (output,) = parser.feed(b"--END COMMAND--\r\n\r\n")
    assert output.body == ["", "out", "", "more"]
    first, second = parser.feed(b"Event: A\r\n\r\nEvent: B\r\nX: 1\r\n\r\n")
    assert first.name == "A" and second["x"] == "1"
    (after,) = parser.feed(b"\r\nResponse: Follows\r\nActionID: 2\r\n\r\nz\n--END COMMAND--\r\n\r\n")
    assert after.actionID == "2" and after.body == ["", "z"]


_tokens = st.sampled_from([
    b"Response: Follows\r\n", b"Response: Success\r\n", b"Event: X\r\n", b"A: b\r\n",
    b"--END COMMAND--", b"\r\n", b"\r", b"\n", b"text", b"ActionID: 1\r\n", b"\r\n\r\n",
])


@settings(max_examples=500, deadline=None)
@given(st.lists(_tokens, max_size=40), st.data())
def test_anyStreamSplitAnywhereParsesAsWhenWhole(tokens: List[bytes], data: st.DataObject) -> None:
    stream = b"Asterisk Call Manager/11.0.0\r\n" + b"".join(tokens)
    whole = AMIParser()
    expected = whole.feed(stream)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    parser = AMIParser()
    got: List[Message] = []
    previous = 0
    for cut in cuts + [len(stream)]:
        got.extend(parser.feed(stream[previous:cut]))
        previous = cut
    assert [(m.headers(), m.body) for m in got] == [(m.headers(), m.body) for m in expected]
    # What is left unparsed is the same too: the same messages follow.
    tail = b"\r\n\r\nEvent: Last\r\n\r\n"
    assert [(m.headers(), m.body) for m in parser.feed(tail)] == [
        (m.headers(), m.body) for m in whole.feed(tail)]


# -- a header line written by hand (AMIProtocol.sendLine) ------------------------------


def test_aHandWrittenHeaderLineIsCheckedAsFormatActionChecksHeaders() -> None:
    assert checkHeaderLine("Action: Ping") == "Action"
    assert checkHeaderLine("Name:value") == "Name"  # Asterisk skips no blank here
    assert checkHeaderLine("Name:") == "Name"
    assert checkHeaderLine("X: " + "y" * (MAX_LINE_BYTES - 3)) == "X"
    for line, reason in [
            ("no colon", "not 'Name: value'"), (" Name: x", "header name"),
            ("Name:  x", "starts with a space"), ("Name:\tx", "starts with a space"),
            ("Name: a\x00b", "NUL"), ("X: " + "y" * (MAX_LINE_BYTES - 2), "Asterisk reads at most"),
            ("Name: a\rb", "CR or LF")]:
        with pytest.raises(error.LocalProtocolError, match=reason):
            checkHeaderLine(line)
