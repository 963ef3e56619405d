"""Values that Asterisk reads with its application-argument parser reach it
exactly: Originate ``Variable`` headers, AsyncAGI originate arguments,
MixMonitor and Status (issue 11, items 2 and 4).

The bytes StarPy writes are read back by :mod:`tests.asteriskami`, a model
of how Asterisk 22 parses them."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import task
from twisted.internet.testing import StringTransport

from starpy import asyncagi, manager
from starpy.amiactions import appArgument, appArguments, variableAssignment
from starpy.error import LocalProtocolError
from starpy.testing.agi import SimulatedChannel
from starpy.testing.appargs import separateAppArguments, variableValues
from tests import asteriskami
from tests.deferreds import failure, result
from tests.test_asyncagi import Fake
from tests.wire import connect

# -- the model, pinned to what a real Asterisk 22 did -------------------------------


@pytest.mark.parametrize("header,expected", [
    # Confirmed on the server (WIRE.md, issue 11).
    (b" ACC_V=a,ACC_EXTRA=1", [(b"ACC_V", b"a"), (b"ACC_EXTRA", b"1")]),
    (b" V=a,b", [(b"V", b"a")]),  # "b" has no '=': ignored
    (b' V=say "hi"', [(b"V", b"say hi")]),
    (b" V=C:\\temp\\x", [(b"V", b"C:tempx")]),
    # From the source: brackets nest, quotes group, '=' splits once.
    (b" V=f(a,b),W=[x,y]", [(b"V", b"f(a,b)"), (b"W", b"[x,y]")]),
    (b' V="a,b",W=1', [(b"V", b"a,b"), (b"W", b"1")]),
    (b" V=a=b", [(b"V", b"a=b")]),
    (b" \t V= x ", [(b"V", b" x ")]),
    (b" =x,V=", [(b"V", b"")]),
])
def test_modelReadsVariableHeadersAsAsteriskDoes(
        header: bytes, expected: List[Tuple[bytes, bytes]]) -> None:
    assert variableValues(header) == expected


@pytest.mark.parametrize("text,limit,expected", [
    (b"", 10, []),
    (b"a,", 10, [b"a", b""]),
    (b'a,""', 10, [b"a", b"", b""]),  # the quirk of the last piece emptied by its quotes
    (b"a,\\", 10, [b"a", b""]),
    (b"a\\,b\\\\,c", 10, [b"a,b\\", b"c"]),
    (b"(a,b],c", 10, [b"(a,b],c"]),  # ']' closes nothing opened by '('
    (b"a),b", 10, [b"a)", b"b"]),
    (b'a,b,"c",\\d', 3, [b"a", b"b", b'"c",\\d']),  # the last piece stays raw
    (b"a\0,b", 10, [b"a"]),
])
def test_modelSplitsApplicationArguments(text: bytes, limit: int,
                                            expected: List[bytes]) -> None:
    assert separateAppArguments(text, limit) == expected


# -- the escaping ---------------------------------------------------------------------


def test_escapedForms() -> None:
    assert appArgument('a,b "c" \\ (d) [e]') == 'a\\,b \\"c\\" \\\\ \\(d) \\[e]'
    assert appArguments(["a,b", "", " x"]) == "a\\,b,, x"
    assert appArguments([" x"]) == "\\ x"
    assert variableAssignment("V", "a,X=1") == "V=a\\,X=1"
    assert variableAssignment("\tV", 1) == "\\\tV=1"
    assert variableAssignment("PJSIP_HEADER(add,X-Tag)", "v") == "PJSIP_HEADER\\(add\\,X-Tag)=v"


@pytest.mark.parametrize("name,value,message", [
    ("", "x", "variable name is empty"),
    ("A=B", "x", "variable name 'A=B' holds '='"),
    ("A\0", "x", "variable name 'A\\\\x00' holds '\\\\x00'"),
    ("A", "x\ny", "the value of variable 'A' holds '\\\\n'"),
    ("A", "x\ry", "the value of variable 'A' holds '\\\\r'"),
    ("A", "x\0y", "the value of variable 'A' holds '\\\\x00'"),
])
def test_unsendableVariablesAreRefused(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        variableAssignment(name, value)


# -- Originate ------------------------------------------------------------------------


def protocol() -> Tuple[manager.AMIProtocol, StringTransport]:
    ami = manager.AMIProtocol(clock=task.Clock())
    transport = StringTransport()
    connect(ami, transport)
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    return ami, transport


def asteriskVariables(variable: Any) -> List[Tuple[str, str]]:
    """What Asterisk sets for ``originate(variable=variable)``."""
    ami, transport = protocol()
    ami.originate("Local/1@test", "test", "1", 1, variable=variable)
    (action,) = asteriskami.readActions(transport.value())
    return [(name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            for name, value in asteriskami.variables(action)]


@pytest.mark.parametrize("value", ["a,X=1", "a,b", 'say "hi"', "C:\\temp\\x", "f(a,b",
                                   "[x", "trailing\\", '"', " lead and trail ", "é,ü"])
def test_originateVariableReachesAsteriskExactly(value: str) -> None:
    assert asteriskVariables({"V": value}) == [("V", value)]
    assert asteriskVariables(["V=" + value]) == [("V", value)]


def test_originateAssignmentStringsEndTheNameAtTheFirstEquals() -> None:
    assert asteriskVariables(["V=a=b,c", "W="]) == [("V", "a=b,c"), ("W", "")]


def test_originateFunctionNamesReachAsteriskExactly() -> None:
    assert asteriskVariables({"PJSIP_HEADER(add,X-Tag)": "a,b", "__INHERITED": "1"}) == [
        ("PJSIP_HEADER(add,X-Tag)", "a,b"), ("__INHERITED", "1")]


@pytest.mark.parametrize("variable,message", [
    ({"A=B": "1"}, "'A=B' holds '='"),
    ({"": "1"}, "name is empty"),
    (["=1"], "name is empty"),
    (["NOEQUALS"], "'NOEQUALS' is not NAME=value"),
    ({"A": "1", "B": "x\ny"}, "variable 'B'"),
])
def test_originateRefusesBeforeWriting(variable: Any, message: str) -> None:
    ami, transport = protocol()
    with pytest.raises(ValueError, match=message):
        ami.originate("Local/1@test", "test", "1", 1, variable=variable)
    assert transport.value() == b""
    assert ami.pendingCount == 0


# Any text a Python str can hold and UTF-8 can encode; NUL, CR and LF are
# refused, so they are generated too.
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40) | st.sampled_from(
    ["a,X=1", "a,b", 'say "hi"', "C:\\temp\\x", "(", "[", "\\", '"', " ", "=", "x" * 300])
_NAMES = st.text(st.characters(exclude_categories=["Cs"]), min_size=0, max_size=20) | st.sampled_from(
    ["V", "A,B", "F(a,b)", " V", "__X", "A=B", ""])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_NAMES, _TEXT, max_size=6))
def test_propertyOriginateVariablesArriveExactlyOrAreRefused(
        variable: Dict[str, str]) -> None:
    ami, transport = protocol()
    try:
        ami.originate("Local/1@test", "test", "1", 1, variable=variable)
    except ValueError:
        assert transport.value() == b""
        bad = [name for name, value in variable.items()
               if not name or "=" in name
               or any(c in name + value for c in "\0\r\n")]
        assert bad, "refused a sendable variable"
        return
    (action,) = asteriskami.readActions(transport.value())
    got = [(name.decode("utf-8"), value.decode("utf-8"))
           for name, value in asteriskami.variables(action)]
    assert got == list(variable.items())
    # Nothing else of the action changed either.
    assert asteriskami.header(action, b"Context") == b"test"


# -- AsyncAGI originate arguments ----------------------------------------------------------


def dispatcher() -> Tuple[asyncagi.AsyncAGIDispatcher, StringTransport]:
    ami, transport = protocol()
    dispatching = asyncagi.AsyncAGIDispatcher(ami, None, clock=task.Clock())
    dispatching.startService()
    return dispatching, transport


def asteriskArguments(arguments: List[str]) -> List[str]:
    dispatching, transport = dispatcher()
    waiting = dispatching.originate("Local/1@test", arguments=arguments, channelId="c-1")
    (action,) = asteriskami.readActions(transport.value())
    waiting.cancel()
    failure(waiting)
    pieces = [piece.decode("utf-8", "surrogateescape")
              for piece in asteriskami.agiArguments(action)]
    assert pieces[0] == "agi:async"
    return pieces[1:]


@pytest.mark.parametrize("arguments", [
    ["a,b"], ['say "hi"', "C:\\temp\\x"], ["a,X=1", "", "(", "["], [""], ["", ""], ['""'],
    [" x", "y "],
])
def test_asyncagiArgumentsReachAsteriskExactly(arguments: List[str]) -> None:
    assert asteriskArguments(arguments) == arguments


def test_asyncagiArgumentLimits() -> None:
    many = [str(n % 10) for n in range(35)]
    assert asteriskArguments(many) == many
    dispatching, transport = dispatcher()
    tooMany = ["x"] * (asyncagi.MAX_ORIGINATE_ARGUMENTS + 1)
    refused = failure(dispatching.originate("Local/1@test", arguments=tooMany))
    assert refused.check(LocalProtocolError)  # the application's refusal (a ValueError)
    assert "at most 126 arguments (127 given)" in str(refused.value)
    refused = failure(dispatching.originate("Local/1@test", arguments=["x" * 501]))
    assert refused.check(LocalProtocolError)
    assert "environment" in str(refused.value)
    refused = failure(dispatching.originate("Local/1@test", arguments=["é" * 170]))
    assert "URL-encoded" in str(refused.value)
    refused = failure(dispatching.originate("Local/1@test", arguments=["a\nb"]))
    assert "AsyncAGI argument 'a\\nb' holds '\\n'" in str(refused.value)
    assert transport.value() == b""
    assert dispatching._waiters == {}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TEXT, max_size=8))
def test_propertyAsyncagiArgumentsArriveExactlyOrAreRefused(
        arguments: List[str]) -> None:
    dispatching, transport = dispatcher()
    waiting = dispatching.originate("Local/1@test", arguments=arguments, channelId="c-1")
    if waiting.called:
        refused = failure(waiting)
        assert refused.check(ValueError)
        assert transport.value() == b""
        environment = sum(len(("agi_arg_%d: %s\n" % (n, a)).encode())
                          for n, a in enumerate(arguments, 1))
        assert (any(c in a for a in arguments for c in "\0\r\n")
                or environment > asyncagi.ORIGINATE_ARGUMENTS_BUDGET
                or "URL-encoded" in str(refused.value))
        return
    (action,) = asteriskami.readActions(transport.value())
    waiting.cancel()
    failure(waiting)
    assert [piece.decode("utf-8") for piece in asteriskami.agiArguments(action)] == (
        ["agi:async"] + arguments)


def test_asyncagiOriginateOnTheFakeAsterisk() -> None:
    f = Fake()
    f.fake.channelFactory = lambda action: SimulatedChannel()
    arguments = ["a,b", 'say "hi"', "C:\\temp\\x"]
    d = f.dispatcher.originate("Local/300@asyncagi", channelId="orig-v", arguments=arguments,
                               variable={"V": "a,X=1"})
    f.run(0)
    agi = result(d)
    assert agi.arguments == arguments
    channel = f.server.channels[agi.channel]
    assert channel.variables.get("V") == "a,X=1" and "X" not in channel.variables
    agi.finish()
    f.run(0)
    f.assertQuiet()


# -- other actions through the argument parser ------------------------------------------


def sentAction(call: Any) -> List[bytes]:
    ami, transport = protocol()
    call(ami)
    (action,) = asteriskami.readActions(transport.value())
    return action


def test_mixmonitorFileIsEscapedAndTheCommandKept() -> None:
    action = sentAction(lambda ami: ami.mixMonitor(
        "PJSIP/1", file='/tmp/a,b"c".wav', options="bm(100@default,101@default)i(ID)",
        command="echo a,b >> /tmp/log"))
    assert asteriskami.mixMonitorArguments(action) == [
        b'/tmp/a,b"c".wav', b"bm(100@default,101@default)i(ID)", b"echo a,b >> /tmp/log"]
    # The manager reads the raw Options too (for i(ID)): they are sent as given.
    assert asteriskami.header(action, b"Options") == b"bm(100@default,101@default)i(ID)"
    action = sentAction(lambda ami: ami.mixMonitor("PJSIP/1", file=" x\\y.wav"))
    assert asteriskami.mixMonitorArguments(action) == [b" x\\y.wav", b"", b""]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT, _TEXT, st.lists(_NAMES, max_size=5))
def test_propertyMixmonitorFileAndStatusNamesArriveExactlyOrAreRefused(
        file: str, command: str, names: List[str]) -> None:
    carriable = not any(c in file + command for c in "\0\r\n") and not (
        command and ord(command[0]) < 33)
    ami, transport = protocol()
    try:
        ami.mixMonitor("PJSIP/1", file=file, options="b", command=command)
    except ValueError:
        assert not carriable and transport.value() == b""
    else:
        assert carriable
        (action,) = asteriskami.readActions(transport.value())
        transport.clear()
        assert [piece.decode("utf-8") for piece in asteriskami.mixMonitorArguments(action)] == [
            file, "b", command]
    try:
        ami.status(variables=names)
    except ValueError:
        assert any(c in name for name in names for c in "\0\r\n")
        assert transport.value() == b""
    else:
        (action,) = asteriskami.readActions(transport.value())
        read = [piece.decode("utf-8") for piece in asteriskami.statusVariables(action)]
        assert read == (names if names != [""] else [])


@pytest.mark.parametrize("options,message", [
    ("b,x", "comma outside brackets"),
    ("r(x", "leaves a bracket open"),
    ('v"', "would remove"),
    ("v\\", "would remove"),
    (" b", "starts with a blank"),
])
def test_mixmonitorOptionsThatWouldBeChangedAreRefused(options: str,
                                                              message: str) -> None:
    ami, transport = protocol()
    with pytest.raises(ValueError, match="MixMonitor options .*" + message):
        ami.mixMonitor("PJSIP/1", file="x.wav", options=options)
    assert transport.value() == b""


def test_statusVariableNames() -> None:
    action = sentAction(lambda ami: ami.status("PJSIP/1", variables=["A", "F(x,y)", 'B"']))
    assert asteriskami.statusVariables(action) == [b"A", b"F(x,y)", b'B"']
    action = sentAction(lambda ami: ami.status("PJSIP/1", variables=[" A", "B"]))
    assert asteriskami.statusVariables(action) == [b" A", b"B"]
    action = sentAction(lambda ami: ami.status("PJSIP/1", variables="A,B"))
    assert asteriskami.statusVariables(action) == [b"A", b"B"]
    ami, transport = protocol()
    with pytest.raises(ValueError, match="at most 99"):
        ami.status(variables=["V%d" % n for n in range(100)])
    assert transport.value() == b""


def test_asyncagiOriginateNamesItsChannelWithTheOneChannelIdHelper() -> None:
    """Without a channelId, AsyncAGI originate asks originate.newChannelId
    for one, as every StarPy originate does."""
    from starpy import originate

    dispatching, transport = dispatcher()
    waiting = dispatching.originate("Local/1@test")
    (action,) = asteriskami.readActions(transport.value())
    [channelId] = [line.split(b": ", 1)[1].decode() for line in action
                   if line.lower().startswith(b"channelid: ")]
    prefix = originate.newChannelId().rsplit("-", 1)[0]
    assert channelId.startswith(prefix + "-")
    waiting.cancel()
    failure(waiting)
