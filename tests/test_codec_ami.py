"""The sans-IO AMI codec: framing, messages, encoding."""
from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from starpy.codec.ami import (
    AMICodecError,
    AMIParser,
    Message,
    formatAction,
    formatMessage,
)
from tests import transcripts


def parseAll(data: bytes, **kw: Any) -> list[Message]:
    return AMIParser(**kw).feed(data)


class TestCapturedStreams:
    def test_bannerWithoutBlankLine(self) -> None:
        parser = AMIParser()
        messages = parser.feed(transcripts.raw("ami-basic"))
        assert parser.banner == "Asterisk Call Manager/11.0.0"
        assert messages[0] == {"response": "Error", "actionid": "pre-1",
                               "message": "Permission denied"}

    def test_coreSettingsValues(self) -> None:
        messages = parseAll(transcripts.raw("ami-basic"))
        settings_ = next(m for m in messages if m.get("actionid") == "cs-1")
        assert settings_["amiversion"] == "11.0.0"
        assert settings_["asteriskversion"] == "22.10.1"
        assert settings_["systemname"] == ""  # "SystemName: \r\n"

    def test_commandOutputLinesKeptWithLeadingSpaces(self) -> None:
        messages = parseAll(transcripts.raw("ami-basic"))
        cmd3 = next(m for m in messages if m.get("actionid") == "cmd-3")
        output = cmd3.getAll("Output")
        assert output[0] == "[ Context 'echo' created by 'pbx_config' ]"
        assert output[1].startswith("  '1' =>")
        assert output[3] == ""
        assert output[-1] == "-= 1 extension (2 priorities) in 1 context. =-"
        assert cmd3["output"] == output[0]  # plain access: the first value
        assert [n for n, _ in cmd3.headers()].count("Output") == len(output)

    def test_everyEventOfACall(self) -> None:
        messages = parseAll(transcripts.raw("events-call"))
        events = [m for m in messages if "event" in m]
        assert len(events) == 99
        names = {m["event"] for m in events}
        assert {"Newchannel", "Newexten", "VarSet", "DialBegin", "BridgeEnter",
                "Hangup", "OriginateResponse"} <= names
        hangup = next(m for m in events if m["event"] == "Hangup")
        assert hangup["cause-txt"]
        assert list(hangup)[:2] == ["event", "privilege"]  # header order kept

    def test_dbgetListResponse(self) -> None:
        messages = parseAll(transcripts.raw("ami-basic"))
        response = next(m for m in messages if m.get("eventlist") == "start")
        assert response["message"]
        item = next(m for m in messages if m.get("event") == "DBGetResponse")
        assert item.headers()[-1][0] == "ActionID"


class TestFraming:
    def test_oldStyleCommandOutput(self) -> None:
        data = (b"Asterisk Call Manager/1.0\r\n"
                b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n"
                b"Name: not a header\nline two\n\nafter a blank line\n--END COMMAND--\r\n\r\n"
                b"Event: Next\r\n\r\n")
        first, second = parseAll(data)
        assert first["response"] == "Follows"
        assert "name" not in first
        assert first.body == ["Name: not a header", "line two", "", "after a blank line"]
        assert second.name == "Next"

    def test_endMarkerGluedToLastLine(self) -> None:
        data = (b"Response: Follows\r\nActionID: 1\r\nuptime 5--END COMMAND--\r\n\r\n")
        (message,) = parseAll(data, expectBanner=False)
        assert message.body == ["uptime 5"]

    def test_malformedLineKeptOutOfHeaders(self) -> None:
        (message,) = parseAll(b"Event: X\r\nthis line has no colon\r\nA: b\r\n\r\n",
                              expectBanner=False)
        assert dict(message) == {"event": "X", "a": "b"}
        assert message.body == ["this line has no colon"]

    def test_valueKeepsColonsAndOnlyOneSpaceIsRemoved(self) -> None:
        (message,) = parseAll(b"Event: X\r\nAppData:  a: b\r\nEmpty:\r\n\r\n", expectBanner=False)
        assert message["appdata"] == " a: b"
        assert message["empty"] == ""

    def test_messageOverBound(self) -> None:
        parser = AMIParser(maxMessageSize=64, expectBanner=False)
        with pytest.raises(AMICodecError):
            parser.feed(b"Event: X\r\nA: " + b"x" * 100)
        with pytest.raises(AMICodecError):
            parser.feed(b"\r\n\r\n")  # a failed parser stays failed

    def test_completeMessageOverBound(self) -> None:
        parser = AMIParser(maxMessageSize=32, expectBanner=False)
        with pytest.raises(AMICodecError):
            parser.feed(b"Event: X\r\nA: " + b"x" * 40 + b"\r\n\r\n")

    def test_bannerOverBound(self) -> None:
        with pytest.raises(AMICodecError):
            AMIParser(maxMessageSize=32).feed(b"A" * 40)

    def test_nonUtf8IsKeptLosslessly(self) -> None:
        (message,) = parseAll(b"Event: X\r\nCallerIDName: Ren\xe9\r\n\r\n", expectBanner=False)
        assert message["calleridname"].encode("utf-8", "surrogateescape") == b"Ren\xe9"
        again = formatMessage(message.headers())
        assert again == b"Event: X\r\nCallerIDName: Ren\xe9\r\n\r\n"


class TestMessage:
    def test_secretAndKeyMasked(self) -> None:
        message = Message([("Action", "Login"), ("Secret", "s3cret"), ("Key", "abcdef")])
        assert "s3cret" not in repr(message)
        assert "abcdef" not in repr(message)
        assert "s3cret" not in message.dump()
        assert message["secret"] == "s3cret"

    def test_repeatedHeadersBuilt(self) -> None:
        message = Message([("Event", "X"), ("Variable", "a=1"), ("Variable", "b=2")])
        assert message.getAll("VARIABLE") == ["a=1", "b=2"]
        assert message.getAll("missing") == []
        assert pickle.loads(pickle.dumps(message)).getAll("variable") == ["a=1", "b=2"]


class TestEncoding:
    def test_actionBytes(self) -> None:
        data = formatAction("Originate", {"Channel": "Local/1@echo",
                                          "Variable": ["A=1", "B=two words"]}, "orig-1")
        assert data == (b"Action: Originate\r\nActionID: orig-1\r\nChannel: Local/1@echo\r\n"
                        b"Variable: A=1\r\nVariable: B=two words\r\n\r\n")

    def test_pairsAndNumbers(self) -> None:
        assert formatAction("Ping", [("A", 1), ("A", 2.5)]) == b"Action: Ping\r\nA: 1\r\nA: 2.5\r\n\r\n"

    @pytest.mark.parametrize("headers", [
        {"Channel": "x\r\nAction: Hangup"},
        {"Channel": "x\n"},
        {"Bad\rName": "x"},
        {"Has: colon": "x"},
        {"": "x"},
        {"ActionID": "mine"},
    ])
    def test_injectionRefused(self, headers: dict[str, str]) -> None:
        with pytest.raises(ValueError):
            formatAction("Status", headers)

    def test_secretNotEchoedInError(self) -> None:
        with pytest.raises(ValueError) as caught:
            formatAction("Login", {"Secret": "top\nsecret"})
        assert "top" not in str(caught.value)


_names = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
                 min_size=1, max_size=12)
_values = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
                  max_size=40).filter(lambda v: not v.endswith("--END COMMAND--"))
_messages = st.lists(st.tuples(_names, _values), min_size=1, max_size=8).filter(
    lambda pairs: pairs[0][0] != "Response" or pairs[0][1] != "Follows")


@settings(max_examples=300, deadline=None)
@given(st.lists(_messages, min_size=1, max_size=6), st.data())
def test_anySplitGivesTheSameMessages(messages: list[list[tuple[str, str]]],
                                           data: st.DataObject) -> None:
    stream = b"Asterisk Call Manager/11.0.0\r\n" + b"".join(formatMessage(m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    parser = AMIParser()
    got: list[Message] = []
    previous = 0
    for cut in cuts + [len(stream)]:
        got.extend(parser.feed(stream[previous:cut]))
        previous = cut
    assert [m.headers() for m in got] == [
        list(m) for m in messages
    ]
    assert parser.banner == "Asterisk Call Manager/11.0.0"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(16, 200))
def test_arbitraryBytesGiveMessagesOrCodecError(data: bytes, bound: int) -> None:
    parser = AMIParser(maxMessageSize=bound)
    try:
        for start in range(0, len(data), 7):
            for message in parser.feed(data[start:start + 7]):
                assert isinstance(message, Message)
                assert all(isinstance(v, str) for v in message.values())
    except AMICodecError:
        pass


@pytest.mark.parametrize("banner, version", [
    ("Asterisk Call Manager/11.0.0", "11.0.0"),
    ("Asterisk Call Manager/1.0", "1.0"),
    ("Asterisk Call Manager Proxy/2.1 ", "2.1"),
    ("SSH-2.0-OpenSSH_9.2", None),
    ("Asterisk Call Manager", None),
])
def test_bannerVersion(banner: str, version: str | None) -> None:
    from starpy.codec.ami import bannerVersion
    assert bannerVersion(banner) == version
