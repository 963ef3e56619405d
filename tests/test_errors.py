"""Every exception StarPy defines lives in starpy.error; the old homes still export them."""
from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from typing import Callable, List

import pytest
from twisted.python.failure import Failure

import starpy
from starpy import error

#: Where each error was first defined, and is still importable from.
OLD_HOMES = [
    ("starpy.codec.ami", "AMICodecError"),
    ("starpy.channel", "ChannelHungUp"),
    ("starpy.channel", "TrackerStopped"),
    ("starpy.originate", "OriginateFailed"),
    ("starpy.appconfig", "StarpyConfigError"),
    ("starpy.utilapplication", "StarpyConfigError"),
    ("starpy.utilapplication", "CallWaitTimeout"),
    ("starpy.cliami", "CommandError"),
    ("starpy.cli.ami", "CommandError"),
    ("starpy.pool", "NoServerReady"),
    ("starpy.asyncagi", "AsyncAGIRejected"),
]


def _modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(starpy.__path__, "starpy.")]
    # The fakes' scripting exceptions (testing.ami.ActionError) belong to the
    # test API; metrics needs its optional extra.
    return [n for n in names if not n.startswith("starpy.testing") and n != "starpy.__main__"]


def test_everyExceptionIsDefinedInError() -> None:
    strays = []
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == name and name != "starpy.error"):
                strays.append("%s.%s" % (name, value.__name__))
    assert strays == []


def test_everyStarpyErrorDerivesFromStarpyError() -> None:
    for name in error.__all__:
        value = getattr(error, name)
        if inspect.isclass(value):
            assert issubclass(value, error.StarpyError), name


@pytest.mark.parametrize("module, name", OLD_HOMES)
def test_oldImportPathsStillWork(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(error, name)


# -- whose fault: the application's (local) or the peer's (remote) ------------------


def test_localProtocolErrorIsAStarpyErrorAndAValueError() -> None:
    assert issubclass(error.LocalProtocolError, error.StarpyError)
    assert issubclass(error.LocalProtocolError, ValueError)
    assert not issubclass(error.LocalProtocolError, error.RemoteProtocolError)


def test_remoteProtocolErrorIsTheBaseOfEveryPeerGarbageError() -> None:
    assert issubclass(error.RemoteProtocolError, error.StarpyError)
    assert not issubclass(error.RemoteProtocolError, ValueError)
    for peerError in (error.AMIProtocolError, error.AMICodecError, error.AGIProtocolError,
                      error.AGIReplyError):
        assert issubclass(peerError, error.RemoteProtocolError), peerError
        assert not issubclass(peerError, error.LocalProtocolError), peerError
    # The old bases still hold.
    assert issubclass(error.AMIProtocolError, error.AMIError)
    assert issubclass(error.AGIProtocolError, error.AGIError)
    assert issubclass(error.AMICodecError, ValueError)
    assert issubclass(error.AGIReplyError, ValueError)


def _refusals() -> list[tuple[str, Callable[[], object]]]:
    from starpy import amiactions, eventfilter
    from starpy.agi import _arguments as agiarguments
    from starpy.codec import agi as agicodec
    from starpy.codec import ami as codec

    return [
        ("CR in a value", lambda: codec.formatAction("Ping", {"X": "a\rb"})),
        ("bad header name", lambda: codec.formatMessage([("a:b", "c")])),
        ("ActionID in the headers", lambda: codec.formatAction("Ping", {"ActionID": "1"}, "2")),
        ("empty action", lambda: codec.formatAction("", {"X": "y"})),
        ("NUL", lambda: codec.formatAction("Ping", {"X": "a\x00b"})),
        ("leading blank", lambda: codec.formatAction("Ping", {"X": " y"})),
        ("line too long", lambda: codec.formatAction("Ping", {"X": "y" * 1100})),
        ("too many headers", lambda: codec.formatAction("Ping", [("X", "y")] * 200)),
        ("uncarriable argument", lambda: amiactions.appArgument("a\nb")),
        ("empty variable name", lambda: amiactions.variableAssignment("", "v")),
        ("'=' in a variable name", lambda: amiactions.variableAssignment("A=B", "v")),
        ("unknown event class", lambda: amiactions.eventClassList(["calls"])),
        ("no event class", lambda: amiactions.eventClassList([])),
        ("filter for a name too long", lambda: eventfilter.nameExpressions(["x" * 1100])),
        ("AGI argument with a line break", lambda: agicodec.formatCommand("VERBOSE", "a\nb")),
        ("AGI argument not finite", lambda: agicodec.formatCommand("WAIT FOR DIGIT", math.inf)),
        ("AGI line with NUL", lambda: agicodec.encodeCommandLine("NOOP a\x00b")),
        ("AGI line too long", lambda: agicodec.encodeCommandLine("NOOP " + "x" * 9000, 8191)),
        ("AGI time not finite", lambda: agiarguments.toMilliseconds(math.nan)),
    ]


@pytest.mark.parametrize("what, refused", _refusals(), ids=[w for w, _ in _refusals()])
def test_refusalsToSendAreLocalProtocolErrorsThatExceptValueErrorCatches(
        what: str, refused: Callable[[], object]) -> None:
    with pytest.raises(error.LocalProtocolError):
        refused()
    try:
        refused()
    except ValueError:  # what code written before the split catches
        pass


def test_protocolRefusesBeforeWritingAndKeepsWorking() -> None:
    """A refusal by a named action or sendAction is local: nothing is
    written, nothing waits, and the connection goes on."""
    from tests.test_manager import Client

    client = Client()
    ami = client.ami
    with pytest.raises(error.LocalProtocolError, match="CR or LF"):
        ami.sendAction("UserEvent", {"UserEvent": "x\r\nAction: Hangup"})
    with pytest.raises(error.LocalProtocolError, match="filter method"):
        ami.filter("x", method="fuzzy")
    with pytest.raises(error.LocalProtocolError, match="holds '='"):
        ami.originate("PJSIP/1", variable={"A=B": "1"})
    with pytest.raises(error.LocalProtocolError, match="Status takes at most 99"):
        ami.status(variables=["V%d" % n for n in range(100)])
    with pytest.raises(error.LocalProtocolError, match="comma outside brackets"):
        ami.mixMonitor("PJSIP/1", options="b,i")
    with pytest.raises(error.LocalProtocolError, match="no Action header"):
        ami.sendMessage({"Channel": "PJSIP/1"})
    with pytest.raises(error.LocalProtocolError, match="holds a CR or LF"):
        ami.sendLine("Action: Ping\r\nAction: Hangup")
    assert client.transport.value() == b""
    assert ami.pendingCount == 0
    ami.sendMessage({"Action": "Ping", "ActionID": "mine"})
    with pytest.raises(error.LocalProtocolError, match="already waiting"):
        ami.sendMessage({"Action": "Ping", "ActionID": "mine"})
    assert ami.pendingCount == 1
    client.transport.clear()
    ami.ping()
    assert [m["action"] for m in client.sent()] == ["Ping"]


def test_peerGarbageIsARemoteProtocolError() -> None:
    from starpy.codec.agi import parseReplyLine
    from starpy.codec.ami import AMIParser

    parser = AMIParser(maxMessageSize=64, expectBanner=False)
    with pytest.raises(error.RemoteProtocolError):
        parser.feed(b"Event: " + b"x" * 100)
    with pytest.raises(error.RemoteProtocolError):
        parseReplyLine("hello there")


def test_agiRefusalsAndGarbageResultsAreSplitToo() -> None:
    """The AGI side splits the same way: a result upstream's helpers cannot
    read is the peer's (AGIReplyError); a command that cannot be written is
    the application's."""
    from starpy.fastagi import FastAGIProtocol

    agi = FastAGIProtocol()
    with pytest.raises(error.AGIReplyError, match="unexpected RECORD FILE result"):
        agi.onRecordingComplete("200 result=0 garbage")
    with pytest.raises(error.AGIReplyError, match="unexpected STREAM FILE result"):
        agi.onStreamingComplete("200 result=0 garbage")
    refused: List[Failure] = []
    agi.sendCommand("VERBOSE", "a\nb").addErrback(refused.append)
    assert refused[0].check(error.LocalProtocolError)
    assert "line break" in refused[0].getErrorMessage()
