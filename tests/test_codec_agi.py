"""Tests for the sans-IO AGI codec (starpy.codec.agi)."""
from __future__ import annotations

from typing import List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from starpy.codec import agi as codec
from starpy.codec.agi import _replies
from starpy.error import AGIProtocolError

from .agihelpers import FIXTURES, asteriskParseArgs, transcriptExchanges

# -- environment -------------------------------------------------------------


def test_environmentFromCapture() -> None:
    env, _ = transcriptExchanges("fastagi-hello")
    decoder = codec.AGIDecoder()
    events = decoder.feed(env)
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, codec.AGIEnvironment)
    variables = event.variables
    assert variables["agi_network_script"] == "hello"
    assert variables["agi_channel"] == "Local/100@fastagi-00000002;2"
    assert variables["agi_calleridname"] == "FastAGI Test"
    assert variables["agi_accountcode"] == ""
    assert variables["agi_arg_2"] == "arg with space"
    assert list(variables)[0] == "agi_network"
    assert len(variables) == 24
    assert not decoder.readingEnvironment


def test_environmentKeysLowerCasedAndValueKeepsColons() -> None:
    parser = codec.AGIEnvironmentParser()
    assert parser.feedLine("AGI_Request: agi://127.0.0.1:4573/x") is None
    assert parser.feedLine("agi_arg_1:  two spaces") is None
    env = parser.feedLine("")
    assert env is not None
    assert env.variables == {
        "agi_request": "agi://127.0.0.1:4573/x",
        "agi_arg_1": " two spaces",
    }


def test_environmentBadLine() -> None:
    parser = codec.AGIEnvironmentParser()
    with pytest.raises(AGIProtocolError):
        parser.feedLine("no colon here")


def test_environmentTooManyLines() -> None:
    decoder = codec.AGIDecoder(maxEnvironmentLines=3)
    decoder.feed(b"a: 1\nb: 2\nc: 3\n")
    with pytest.raises(AGIProtocolError):
        decoder.feed(b"d: 4\n")


def _decodeLineByLine(data: bytes, maxLines: int) -> object:
    """What the decoder gives for *data* read one line at a time (the
    general path), or the error it raises."""
    decoder = codec.AGIDecoder(maxEnvironmentLines=maxLines)
    events: List[object] = []
    try:
        for line in data.split(b"\n")[:-1]:
            event = decoder.feedLine(line.decode())
            if event is not None:
                events.append(event)
    except AGIProtocolError as e:
        return str(e)
    return events


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(
    ["agi_x", "AGI_Y", ": ", ":", " ", "v", "\r", "200 result=0", "a: b", "agi_arg_1",
     "\t", "\u00e9", "\u0130", "-"]), max_size=4),
    max_size=8), st.integers(min_value=1, max_value=10), st.booleans())
def test_environmentInOneChunkAsLineByLine(lines: List[List[str]], maxLines: int,
                                           split: bool) -> None:
    """The environment read from one chunk, or from two split at a line's
    end (its fast paths, issue 14), gives the events, or the error, of the
    same lines read one at a time."""
    data = "".join("".join(pieces) + "\n" for pieces in lines).encode()
    data += b"\n200 result=1\n"
    decoder = codec.AGIDecoder(maxEnvironmentLines=maxLines)
    try:
        if split and lines:
            cut = data.index(b"\n") + 1
            whole: object = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        else:
            whole = decoder.feed(data)
    except AGIProtocolError as e:
        whole = str(e)
    assert whole == _decodeLineByLine(data, maxLines)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(
    ["agi_x", "AGI_Y", ": ", ":", " ", "v", "\r", "\n", "200 result=0", "agi_arg_1", "\u00e9"]),
    max_size=4), max_size=8), st.integers(min_value=1, max_value=10),
    st.integers(min_value=5, max_value=80))
def test_wholeEnvironmentAsFeed(lines: List[List[str]], maxLines: int, maxLine: int) -> None:
    """wholeEnvironment (issue 14) takes a chunk only if it is a whole usual
    block, and gives what feed gives; else it takes nothing."""
    data = ("".join("".join(pieces) + "\n" for pieces in lines) + "\n").encode()
    try:
        expected: object = codec.AGIDecoder(maxLine, maxLines).feed(data)
    except AGIProtocolError as e:
        expected = str(e)
    decoder = codec.AGIDecoder(maxLine, maxLines)
    env = decoder.wholeEnvironment(data)
    if env is not None:
        assert [env] == expected and not decoder.readingEnvironment
        general = codec.AGIDecoder(maxLine, maxLines)
        general.feed(data)
        assert decoder.usualReplyLine(b"200 result=0\n") == general.usualReplyLine(
            b"200 result=0\n")
        return
    try:
        got: object = decoder.feed(data)
    except AGIProtocolError as e:
        got = str(e)
    assert got == expected


def test_wholeEnvironmentLeavesCRAndLinesAfterTheEnd() -> None:
    """The whole-block match refuses a CR and an empty line itself (no scan
    for them before it): such chunks go to feed, which reads them."""
    cases = [(b"agi_a: 1\r\nagi_b: 2\n\n", [{"agi_a": "1", "agi_b": "2"}]),
             (b"agi_a: 1\r\n\n", [{"agi_a": "1"}]),
             (b"agi_a: 1\n\n\n", None),
             (b"agi_a: 1\n\nagi_b: 2\n\n", None)]
    for data, variables in cases:
        decoder = codec.AGIDecoder()
        assert decoder.wholeEnvironment(data) is None, data
        assert decoder.readingEnvironment
        try:
            events = decoder.feed(data)
        except AGIProtocolError:
            assert variables is None
            continue
        assert [e.variables for e in events if isinstance(e, codec.AGIEnvironment)] == variables
    decoder = codec.AGIDecoder()
    env = decoder.wholeEnvironment(b"agi_a: 1\nagi_b: x y\n\n")
    assert env is not None and env.variables == {"agi_a": "1", "agi_b": "x y"}


def test_environmentPlainLinesInOnePass() -> None:
    """The usual block (lower-case keys, ``key: value``) is read by the
    one-pass reading, which takes nothing of any other block."""
    parser = codec.AGIEnvironmentParser()
    assert parser.feedPlainText("agi_a: x\nagi_b: ") == (None, None)
    taken = parser.feedPlainText("agi_c: 1\n\n200 result=0\nHANGUP")
    assert taken is not None
    env, rest = taken
    assert env is not None and env.variables == {"agi_a": "x", "agi_b": "", "agi_c": "1"}
    assert rest == "200 result=0\nHANGUP" and parser.done
    for text in ["Agi_a: 1\n", "agi_a:1\n", " agi_a: 1\n", "agi_a : 1\n", "\nagi_a: 1",
                 "agi_a: 1\nAGI_B: 2\n"]:
        parser = codec.AGIEnvironmentParser()
        assert parser.feedPlainText(text) is None, text
        assert parser._variables == {} and not parser.done
    parser = codec.AGIEnvironmentParser(maxLines=2)
    assert parser.feedPlainText("a: 1\nb: 2\nc: 3") is None


def test_environmentValueWithTheSeparatorIsReadLineByLine() -> None:
    """A value holding ``": "`` is left to the line reader by the one-pass
    reading (whose split pairs keys and values by position): a line
    without the separator elsewhere cannot make up for it."""
    for text in ["agi_a: x: y\nagi_b: 2", "agi_a: x: y\nagi_b", "agi_a: x: y: z\nagi_b\nagi_c"]:
        parser = codec.AGIEnvironmentParser()
        assert parser.feedPlainText(text) is None, text
        assert parser._variables == {} and not parser.done
    block = b"agi_a: x: y\nagi_b: 2\nagi_c: a: b: c\n\n"
    decoder = codec.AGIDecoder()
    env = decoder.wholeEnvironment(block)
    assert env is None  # nothing taken: feed reads it
    events = decoder.feed(block)
    assert [event.variables for event in events] == [  # type: ignore[union-attr]
        {"agi_a": "x: y", "agi_b": "2", "agi_c": "a: b: c"}]


def test_lineTooLong() -> None:
    decoder = codec.AGIDecoder(maxLineLength=10)
    with pytest.raises(AGIProtocolError):
        decoder.feed(b"agi_x: 01234567890")
    decoder = codec.AGIDecoder(maxLineLength=10)
    with pytest.raises(AGIProtocolError):
        decoder.feed(b"agi_x: 01234567890\n")


def test_parseEnvironmentText() -> None:
    text = "agi_request: async\nagi_channel: Local/300@asyncagi-00000005;2\n\n"
    assert codec.parseEnvironment(text) == {
        "agi_request": "async",
        "agi_channel": "Local/300@asyncagi-00000005;2",
    }


# -- replies -------------------------------------------------------------------


def test_simpleReplies() -> None:
    reply = codec.parseReplyLine("200 result=0")
    assert (reply.code, reply.result, reply.data, reply.extra) == (200, "0", None, {})
    reply = codec.parseReplyLine("200 result=1 (Local/100@fastagi-00000002;2)")
    assert reply.result == "1"
    assert reply.data == "Local/100@fastagi-00000002;2"
    reply = codec.parseReplyLine("200 result=0 endpos=11234")
    assert reply.extra == {"endpos": "11234"}
    assert reply.data is None
    reply = codec.parseReplyLine("200 result=-1 endpos=0")
    assert reply.resultAsInt() == -1
    reply = codec.parseReplyLine("200 result=0 Gosub complete")
    assert reply.text == "Gosub complete"
    assert reply.extra == {}


def test_dataWithSpacesAndParentheses() -> None:
    reply = codec.parseReplyLine("200 result=1 (a (b) c) d))")
    assert reply.data == "a (b) c) d)"
    reply = codec.parseReplyLine("200 result=1 (x) endpos=5)")
    assert reply.data == "x) endpos=5"
    reply = codec.parseReplyLine("200 result=1 ()")
    assert reply.data == ""


def test_dataThenKeyValues() -> None:
    reply = codec.parseReplyLine("200 result=0 (timeout) endpos=1234")
    assert reply.data == "timeout"
    assert reply.extra == {"endpos": "1234"}
    line = ('200 result=1 (speech) endpos=0 results=1 score0=900 '
            'text0="hello (big) world" grammar0=yesno')
    reply = codec.parseReplyLine(line)
    assert reply.data == "speech"
    assert reply.extra == {
        "endpos": "0", "results": "1", "score0": "900",
        "text0": "hello (big) world", "grammar0": "yesno",
    }
    assert reply.raw == line


def test_emptyResultOfGetData() -> None:
    reply = codec.parseReplyLine("200 result= (timeout)")
    assert reply.result == ""
    assert reply.data == "timeout"


def test_errorReplies() -> None:
    reply = codec.parseReplyLine("510 Invalid or unknown command")
    assert (reply.code, reply.result, reply.text) == (510, None, "Invalid or unknown command")
    reply = codec.parseReplyLine(
        "511 Command Not Permitted on a dead channel or intercept routine")
    assert reply.code == 511
    with pytest.raises(AGIProtocolError):
        codec.parseReplyLine("hello there")
    with pytest.raises(AGIProtocolError):
        codec.parseReplyLine("20")


def test_readerUsageBlockFromCapture() -> None:
    _, exchanges = transcriptExchanges("fastagi-hello")
    sent, received = [x for x in exchanges if x[0] == b"STREAM FILE\n"][0]
    reader = codec.AGIReplyReader()
    lines = received.decode().split("\n")[:-1]
    events = [reader.feedLine(line) for line in lines]
    assert events[:-1] == [None] * (len(lines) - 1)
    reply = events[-1]
    assert isinstance(reply, codec.AGIReply)
    assert reply.code == 520
    assert reply.text == "Invalid command syntax.  Proper usage follows:"
    assert reply.usage.startswith("Send the given file, allowing playback")
    assert "<literal>0</literal>" in reply.usage
    assert reply.usage.endswith("    <value>FAILED</value>")
    assert reply.usage.count("\n") == 4
    assert reply.raw == received.decode().rstrip("\n")


def test_readerInterimAndHangup() -> None:
    reader = codec.AGIReplyReader()
    interim = reader.feedLine("100 result=0 Trying...")
    assert interim == codec.AGIInterimReply("100 result=0 Trying...")
    assert reader.feedLine("HANGUP") is codec.HANGUP_SIGNAL
    reply = reader.feedLine("200 result=0 Gosub complete")
    assert isinstance(reply, codec.AGIReply)
    assert reply.interim == ("100 result=0 Trying...",)
    assert reply.text == "Gosub complete"
    after = reader.feedLine("200 result=1")
    assert isinstance(after, codec.AGIReply) and after.interim == ()


def test_singleLine520() -> None:
    reader = codec.AGIReplyReader()
    reply = reader.feedLine("520 Invalid command syntax.  Proper usage not available.")
    assert isinstance(reply, codec.AGIReply)
    assert reply.code == 520 and reply.usage == ""


def test_usageBlockBounded() -> None:
    reader = codec.AGIReplyReader(maxUsageLines=3)
    reader.feedLine("520-Invalid command syntax.  Proper usage follows:")
    for _ in range(3):
        reader.feedLine("x")
    with pytest.raises(AGIProtocolError):
        reader.feedLine("y")


def test_parseReplyText() -> None:
    reply = codec.parseReplyText("100 result=0 Trying...\n200 result=0 Gosub complete\n")
    assert reply.text == "Gosub complete"
    assert reply.interim == ("100 result=0 Trying...",)
    usage = codec.parseReplyText(
        "520-Invalid command syntax.  Proper usage follows:\nUse it.\n520 End of proper usage.\n")
    assert usage.code == 520 and usage.usage == "Use it."
    with pytest.raises(AGIProtocolError):
        codec.parseReplyText("100 result=0 Trying...\n")


def test_wholeCaptureDecodes() -> None:
    """Every byte Asterisk sent in the three captures decodes to events."""
    for name, replies, hangups in [("fastagi-hello", 29, 1), ("fastagi-menu", 7, 1),
                                   ("fastagi-555", 1, 0)]:
        raw = (FIXTURES / (name + ".raw")).read_bytes()
        events = codec.AGIDecoder().feed(raw)
        assert isinstance(events[0], codec.AGIEnvironment)
        kinds = [type(e).__name__ for e in events[1:]]
        assert kinds.count("AGIReply") == replies, name
        assert kinds.count("AGIHangupSignal") == hangups, name


SPLIT_SOURCE = (FIXTURES / "fastagi-hello.raw").read_bytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(SPLIT_SOURCE)), max_size=12))
def test_splittingGivesSameEvents(cuts: List[int]) -> None:
    expected = codec.AGIDecoder().feed(SPLIT_SOURCE)
    decoder = codec.AGIDecoder()
    events: List[codec.AGIEvent] = []
    previous = 0
    for cut in sorted(cuts) + [len(SPLIT_SOURCE)]:
        events.extend(decoder.feed(SPLIT_SOURCE[previous:cut]))
        previous = cut
    assert events == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_arbitraryBytesGiveEventsOrProtocolError(data: bytes, env: bool) -> None:
    decoder = codec.AGIDecoder(maxLineLength=100, expectEnvironment=env)
    try:
        events = decoder.feed(data)
    except AGIProtocolError:
        return
    for event in events:
        assert isinstance(event, (codec.AGIEnvironment, codec.AGIReply,
                                  codec.AGIInterimReply, codec.AGIHangupSignal))


# The pieces of the usual replies, and of the ones that look like them.
_REPLY_PIECES = st.sampled_from(
    ["0", "1", "-1", "49", " ", "  ", "(", ")", "x", "a b", "=", "endpos", "endpos=",
     "24000", '"', "k-1", "-k", "1k", "\t", "\u00a0", "\u00e9", "digit=#", "(timeout)"])


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(["0", "1", "-1", "", "49", "("]), st.sampled_from([" ", "", "  "]),
       st.lists(_REPLY_PIECES, max_size=6))
def test_usualRepliesParseAsTheGeneralParser(result: str, space: str,
                                             pieces: List[str]) -> None:
    """The fast reading of "200 result=..." lines (issue 14) gives what
    parseReplyLine gives, or leaves the line to it."""
    line = "200 result=" + result + space + "".join(pieces)
    fast = _replies._parseResult200(line)
    if fast is not None:
        assert fast == codec.parseReplyLine(line)
    reader = codec.AGIReplyReader()
    assert reader.feedLine(line) == codec.parseReplyLine(line)


def test_usualRepliesTakeTheFastReading() -> None:
    for line, extra in [("200 result=0", {}), ("200 result=1 (200001)", {}),
                        ("200 result=1 (a) b)", {}), ("200 result=0 endpos=24000",
                                                      {"endpos": "24000"}),
                        ("200 result=0 digit-2=x=y", {"digit-2": "x=y"})]:
        fast = _replies._parseResult200(line)
        assert fast is not None and fast == codec.parseReplyLine(line), line
        assert fast.extra == extra
    for line in ["200 result=0 endpos=1 x=2", "200 result=0 (timeout) endpos=1",
                 '200 result=0 k="v"', "200 result=0 -k=1", "200 result=0 Gosub complete",
                 "200 result=1 (x) ", "200 result=0 1k=2", "200 result=0 k\u00e9=1",
                 "200 result=0 k=\u00a0"]:
        assert _replies._parseResult200(line) is None, line


_REPLY_LINES = st.sampled_from(
    [b"200 result=0\n", b"200 result=1 (x y)\n", b"200 result=0 endpos=5\n",
     b"200 result=0\r\n", b"100 result=0 Trying...\n", b"520-Usage:\n", b"x 200 result=1\n",
     b"520 End of proper usage.\n", b"HANGUP\n", b"510 Invalid or unknown command\n",
     b"200 result=1 (a)", b"200 result=", b"\n"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_REPLY_LINES, max_size=10), st.lists(st.booleans(), max_size=10))
def test_usualReplyChunksAsFeed(chunks: List[bytes], joined: List[bool]) -> None:
    """usualReplyLine (issue 14) takes exactly the chunks that are one usual
    reply, and parseUsualReply makes of its line what feed gives."""
    merged: List[bytes] = []
    for index, chunk in enumerate(chunks):
        if merged and index < len(joined) and joined[index]:
            merged[-1] += chunk
        else:
            merged.append(chunk)
    fast = codec.AGIDecoder(expectEnvironment=False)
    general = codec.AGIDecoder(expectEnvironment=False)
    for chunk in merged:
        try:
            expected: object = general.feed(chunk)
        except AGIProtocolError:
            return
        line = fast.usualReplyLine(chunk)
        reply = None if line is None else codec.parseUsualReply(line)
        got: object = [reply] if reply is not None else fast.feed(chunk)
        assert got == expected
        if reply is not None:
            assert chunk.startswith(b"200 result=") and chunk.count(b"\n") == 1


# -- quoting -------------------------------------------------------------------


def test_quoteExamples() -> None:
    assert codec.quoteArgument("hello-world") == "hello-world"
    assert codec.quoteArgument("") == '""'
    assert codec.quoteArgument("bar baz") == '"bar baz"'
    assert codec.quoteArgument('say "hi"') == '"say \\"hi\\""'
    assert codec.quoteArgument("a\\b") == '"a\\\\b"'
    assert codec.quoteArgument("it's") == "it's"
    assert codec.quoteArgument("tab\there") == '"tab\there"'
    assert codec.quoteArgument(42) == "42"
    assert codec.quoteArgument(-1) == "-1"


def test_formatCommandMatchesCapture() -> None:
    assert codec.formatCommand("SET VARIABLE", "FOO", "bar baz") == 'SET VARIABLE FOO "bar baz"'
    assert codec.formatCommand("STREAM FILE", "hello-world", "") == 'STREAM FILE hello-world ""'
    assert codec.formatCommand("VERBOSE", "hello from fastagi", 1) == 'VERBOSE "hello from fastagi" 1'
    assert codec.formatCommand("ANSWER") == "ANSWER"
    assert codec.encodeCommand("WAIT FOR DIGIT", 3000) == b"WAIT FOR DIGIT 3000\n"


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "\n", "x\x00"])
def test_lineBreaksRefused(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        codec.formatCommand("SET VARIABLE", "FOO", bad)
    assert "argument 2 of SET VARIABLE" in str(info.value)


def test_typesRefused() -> None:
    with pytest.raises(TypeError):
        codec.quoteArgument(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        codec.quoteArgument(True)


_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=["Cs"]),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TEXT, max_size=6))
def test_quotingRoundTripsThroughAsteriskParser(values: List[str]) -> None:
    line = codec.formatCommand("SET VARIABLE", *values)
    assert asteriskParseArgs(line) == ["SET", "VARIABLE"] + values


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(['"', "\\", " ", "\t", "'", "a", "$", "("]), max_size=12))
def test_quotingRoundTripsSpecialCharacters(chars: List[str]) -> None:
    value = "".join(chars)
    assert asteriskParseArgs("EXEC " + codec.quoteArgument(value)) == ["EXEC", value]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=' \t"\\\'ab$', max_size=24))
def test_parserAgreesWithTheFakeCallers(line: str) -> None:
    """Two independent re-implementations of parse_args read lines the same way."""
    from starpy.testing.agi import parseAGIArguments

    assert asteriskParseArgs(line) == parseAGIArguments(line)
