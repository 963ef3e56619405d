"""The ``starpy`` command: check-config, events, action, originate, serve (and --workers)."""
from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.interfaces import IAddress
from twisted.internet.task import Clock
from twisted.internet.utils import getProcessOutputAndValue

from starpy import cli
from starpy.cli.ami import EventFilter, escapingStream, printable
from starpy.cli.checkconfig import runCheckConfig
from starpy.cli.serve import parseRoute, parseRoutes
from starpy.codec.ami import Message
from starpy.testing.agi import SimulatedChannel, placeCallInMemory
from starpy.testing.ami import FakeAMIServerFactory
from tests.wire import portNumber

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def amiConf(tmp_path: Path, port: int, secret: str = "starpy-secret", extra: str = "") -> str:
    return write(tmp_path / "starpy.conf", "[AMI]\nusername = starpy\nsecret = %s\nport = %d\n%s"
                 % (secret, port, extra))


class Streams:
    """stdout and stderr of an in-process run; *onErr* sees each stderr write."""

    def __init__(self, onErr: Optional[Callable[[str], object]] = None) -> None:
        self.out = io.StringIO()
        self.err = io.StringIO()
        if onErr is not None:
            original = self.err.write

            def write(text: str) -> int:
                count = original(text)
                onErr(text)
                return count

            self.err.write = write  # type: ignore[method-assign]


@pytest.fixture
def fakeAMI() -> Iterator[Tuple[FakeAMIServerFactory, int]]:
    server = FakeAMIServerFactory(clock=reactor)
    server.authFailureDelay = 0.0
    port = server.listen(0, reactor=reactor)
    yield server, portNumber(port)
    assert server.errors == []
    server.stopListening()


def test_exitCodesAreDistinct() -> None:
    codes = [cli.EXIT_OK, cli.EXIT_FAILURE, cli.EXIT_USAGE, cli.EXIT_BAD_CONFIG,
             cli.EXIT_UNREACHABLE, cli.EXIT_LOGIN_FAILED, cli.EXIT_ACTION_FAILED]
    assert len(set(codes)) == len(codes) == len(cli.EXIT_CODES)


# -- check-config (in process) --------------------------------------------------------------


def test_checkConfigGood(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "s.conf", "[AMI]\nusername = monitor\nmd5 = yes\n"
                 "[FastAGI]\nport = 4600\nallowed_clients = 10.0.0.0/8\n")
    assert cli.main(["check-config", "-c", path]) == cli.EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "read: %s" % path,
        "[AMI] monitor at 127.0.0.1:5038, md5 yes, timeout 5 s",
        "[FastAGI] listen on 127.0.0.1:4600, context default, clients 10.0.0.0/8",
        "configuration OK",
    ]


def test_checkConfigReportsEveryProblem(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "s.conf", "[AMI]\nport = x\ntls = maybe\n[FastAGI]\nbogus = 1\n")
    assert cli.main(["check-config", "-c", path]) == cli.EXIT_BAD_CONFIG
    captured = capsys.readouterr()
    problems = [line for line in captured.out.splitlines() if line.startswith("problem: ")]
    assert problems == [
        "problem: %s: [AMI] port: expected a port number (0-65535), got 'x'" % path,
        "problem: %s: [AMI] tls: expected yes or no, got 'maybe'" % path,
        "problem: %s: [FastAGI] bogus: unknown key (known in [FastAGI]: port, interface, "
        "context, allowed_clients, backlog)" % path,
    ]
    assert captured.err == "3 problems found\n"


def test_checkConfigWithoutFiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("STARPY_CONF", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check-config"]) == cli.EXIT_OK
    assert "no configuration file found" in capsys.readouterr().out
    monkeypatch.setenv("STARPY_CONF", str(tmp_path / "missing.conf"))
    assert cli.main(["check-config"]) == cli.EXIT_BAD_CONFIG
    assert "missing.conf: no such file" in capsys.readouterr().out


MANAGER_CONF = """
[general]
enabled = yes

[base](!)
read = system,call
write = system

[monitor](base)
secret = s
permit = 127.0.0.1/255.255.255.255
write = system,originate
"""


def test_checkConfigShowsManagerPermissions(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    conf = write(tmp_path / "s.conf", "[AMI]\nusername = monitor\nsecret = s\n")
    manager = write(tmp_path / "manager.conf", MANAGER_CONF)
    assert cli.main(["check-config", "-c", conf, "--manager-conf", manager]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "manager.conf user [monitor] (%s:9)" % manager in out
    assert "  read:   system, call\n  write:  system, originate\n" in out
    assert "  permit: 127.0.0.1/255.255.255.255; deny: -; acl: -" in out
    assert "starpy events           ok (needs read class call)" in out
    assert "starpy originate        ok (needs write class originate)" in out
    assert "starpy action Command   NOT ALLOWED (needs write class command)" in out
    assert cli.main(["check-config", "-c", conf, "--manager-conf", manager,
                     "--user", "nobody"]) == cli.EXIT_BAD_CONFIG
    assert "problem: %s: [nobody]: no such AMI user in manager.conf" % manager in (
        capsys.readouterr().out)


GOOD_MANAGER = """[general]
enabled = yes
port = 5038
bindaddr = 127.0.0.1

[starpy]
secret = starpy-secret
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
"""


def managerProblems(tmp_path: Path, managerText: str,
                    starpyText: str = "[AMI]\nusername = starpy\nsecret = starpy-secret\n"
                    ) -> Tuple[int, List[str], str]:
    conf = write(tmp_path / "s.conf", starpyText)
    manager = write(tmp_path / "manager.conf", managerText)
    out = io.StringIO()
    err = io.StringIO()
    args = cli._buildParser().parse_args(["check-config", "-c", conf, "--manager-conf", manager])
    status = runCheckConfig(args, out, err)
    text = out.getvalue()
    prefix = "problem: %s" % (manager,)
    problems = [line[len(prefix):].lstrip(":0123456789 ") for line in text.splitlines()
                if line.startswith(prefix)]
    return status, problems, text


def test_checkConfigAcceptsTheCapturedManagerConf(tmp_path: Path) -> None:
    managerConf = (ROOT / "tests" / "fixtures" / "manager.conf").read_text()
    status, problems, text = managerProblems(tmp_path, managerConf)
    assert (status, problems) == (cli.EXIT_OK, [])
    assert "client address 127.0.0.1: allowed by permit/deny" in text


@pytest.mark.parametrize("change, starpyExtra, expected", [
    (("enabled = yes", "enabled = no"), "", "[general] enabled: not yes: the AMI is off"),
    (("[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n", ""), "",
     "[general]: no [general] section: the AMI is off (Asterisk's default is enabled = no)"),
    (("secret = starpy-secret", "secret = other"), "",
     "[starpy] secret: differs from [AMI] secret: the login would be refused"),
    (("secret = starpy-secret\n", ""), "",
     "[starpy] secret: not set in manager.conf: Asterisk refuses every login"),
    (("port = 5038", "port = 5040"), "",
     "[general] port: Asterisk listens on port 5040, [AMI] port is 5038"),
    (("bindaddr = 127.0.0.1", "bindaddr = 10.1.2.3"), "",
     "[general] bindaddr: Asterisk listens on 10.1.2.3 only, [AMI] server 127.0.0.1 is not "
     "that address"),
    (("permit = 127.0.0.1/255.255.255.255", "permit = 10.0.0.0/8"), "",
     "[starpy] permit: refuses 127.0.0.1, the address StarPy connects from"),
    (("", ""), "tls = yes\nport = 5039\n",
     "[general] tlsenable: not yes, but [AMI] tls = yes: Asterisk has no TLS listener"),
])
def test_checkConfigCatchesWhatRefusesTheLogin(
        tmp_path: Path, change: Tuple[str, str], starpyExtra: str, expected: str) -> None:
    old, new = change
    assert old in GOOD_MANAGER
    status, problems, _ = managerProblems(
        tmp_path, GOOD_MANAGER.replace(old, new, 1),
        "[AMI]\nusername = starpy\nsecret = starpy-secret\n" + starpyExtra)
    assert (status, problems) == (cli.EXIT_BAD_CONFIG, [expected])


def test_checkConfigTlsListener(tmp_path: Path) -> None:
    managerConf = GOOD_MANAGER.replace("bindaddr = 127.0.0.1",
                                       "bindaddr = 127.0.0.1\ntlsenable = yes\n"
                                       "tlsbindaddr = 127.0.0.1:5039")
    starpy = "[AMI]\nusername = starpy\nsecret = starpy-secret\ntls = yes\nport = %d\n"
    assert managerProblems(tmp_path, managerConf, starpy % 5039)[:2] == (cli.EXIT_OK, [])
    status, problems, _ = managerProblems(tmp_path, managerConf, starpy % 5038)
    assert status == cli.EXIT_BAD_CONFIG
    assert problems == ["[general] tlsbindaddr: Asterisk listens on port 5039, [AMI] port "
                        "is 5038"]


def test_checkConfigLaterRulesWin(tmp_path: Path) -> None:
    # Asterisk applies permit/deny in file order: the last match decides.
    managerConf = GOOD_MANAGER.replace(
        "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255",
        "permit = 127.0.0.1\ndeny = 127.0.0.0/8")
    status, problems, _ = managerProblems(tmp_path, managerConf)
    assert (status, problems) == (
        cli.EXIT_BAD_CONFIG,
        ["[starpy] permit: refuses 127.0.0.1, the address StarPy connects from"])
    permitted = GOOD_MANAGER.replace("permit = 127.0.0.1/255.255.255.255",
                                     "permit = 127.0.0.1/255.255.255.255\ndeny = 10.0.0.0/8")
    assert managerProblems(tmp_path, permitted)[:2] == (cli.EXIT_OK, [])


def test_checkConfigOnAFileThatDoesNotParse(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "s.conf", "[AMI]\nusername = starpy\nthis is not ini\n")
    assert cli.main(["check-config", "-c", path]) == cli.EXIT_BAD_CONFIG
    out = capsys.readouterr().out
    assert "no configuration file found" not in out
    problems = [line for line in out.splitlines() if line.startswith("problem: ")]
    assert problems == ["problem: %s:3: cannot read 'this is not ini': expected [section], "
                        "key = value or a comment" % path]
    path = write(tmp_path / "t.conf", "username = starpy\n")
    assert cli.main(["check-config", "-c", path]) == cli.EXIT_BAD_CONFIG
    assert ("problem: %s:1: 'username = starpy' comes before any [section] (expected [AMI] "
            "or [FastAGI] first)" % path) in capsys.readouterr().out


# -- events, action, originate (in process, fake AMI over loopback TCP) -----------------------


def run(argv: List[str], streams: Streams) -> "defer.Deferred[int]":
    return cli.runCommand(argv, reactor, streams.out, streams.err)


@pytest_twisted.ensureDeferred
async def test_eventsFilteredByGlobAndHeader(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI

    def onErr(text: str) -> None:
        if text.startswith("# logged in"):
            server.emitEvent("Newchannel", privilege="call,all", Channel="PJSIP/100-01")
            server.emitEvent("Hangup", privilege="call,all", Channel="PJSIP/200-02")
            server.emitEvent("UserEvent", privilege="user,all", UserEvent="x")
            server.emitEvent("HANGUP", privilege="call,all", Channel="PJSIP/100-01", Cause="16")

    streams = Streams(onErr)
    status = await run(["events", "-c", amiConf(tmp_path, port), "--count", "2",
                        "Hangup", "newchan*", "channel=pjsip/1*"], streams)
    assert status == cli.EXIT_OK, streams.err.getvalue()
    assert streams.out.getvalue() == (
        "Event: Newchannel\nPrivilege: call,all\nChannel: PJSIP/100-01\n\n"
        "Event: HANGUP\nPrivilege: call,all\nChannel: PJSIP/100-01\nCause: 16\n\n")


def test_eventFilterRules() -> None:
    event = Message([("Event", "QueueMemberStatus"), ("Queue", "sales")])
    assert EventFilter([])(event)
    assert EventFilter(["queue*"])(event) and EventFilter(["Hangup", "Queue*"])(event)
    assert not EventFilter(["Hangup"])(event)
    assert EventFilter(["Queue=SAL*"])(event) and not EventFilter(["Queue=s", "queue*"])(event)
    assert not EventFilter(["Missing=*"])(event)


@pytest_twisted.ensureDeferred
async def test_eventsEndsWhenAsteriskGoesAway(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI
    streams = Streams(lambda text: text.startswith("# logged in") and reactor.callLater(
        0, server.dropAll))
    status = await run(["events", "-c", amiConf(tmp_path, port)], streams)
    assert status == cli.EXIT_UNREACHABLE
    assert streams.err.getvalue().endswith(
        "starpy events: the connection to Asterisk was lost\n")


@pytest_twisted.ensureDeferred
async def test_actionPrintsResponseAndListItems(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI
    conf = amiConf(tmp_path, port)
    server.astdb[("fam", "key")] = "value"
    streams = Streams()
    assert await run(["action", "DBGet", "Family=fam", "Key=key", "-c", conf], streams) == 0
    out = streams.out.getvalue()
    assert out.startswith("Response: Success\n")
    assert "Event: DBGetResponse\n" in out and "Val: value\n" in out
    server.addChannel("PJSIP/100-00000001", context="default", exten="100")
    streams = Streams()
    assert await run(["action", "CoreShowChannels", "-c", conf], streams) == 0
    blocks = streams.out.getvalue().strip().split("\n\n")
    assert blocks[0].startswith("Response: Success")
    assert "Channel: PJSIP/100-00000001" in blocks[1]
    assert blocks[-1].startswith("Event: CoreShowChannelsComplete")
    assert streams.err.getvalue() == "# 1 item\n"
    received = [m for m in server.received if m["action"] == "DBGet"]
    assert received[0]["family"] == "fam" and received[0]["key"] == "key"


@pytest_twisted.ensureDeferred
async def test_actionRefusedAndBadHeader(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI
    conf = amiConf(tmp_path, port)
    streams = Streams()
    status = await run(["action", "Hangup", "Channel=PJSIP/nobody", "-c", conf], streams)
    assert status == cli.EXIT_ACTION_FAILED
    assert streams.err.getvalue() == "starpy action: Hangup failed: No such channel\n"
    assert streams.out.getvalue().startswith("Response: Error\n")
    streams = Streams()
    assert await run(["action", "Ping", "oops", "-c", conf], streams) == cli.EXIT_USAGE
    assert streams.err.getvalue() == "starpy action: header 'oops' is not Key=Value\n"


@pytest_twisted.ensureDeferred
async def test_originateReportsTheResponse(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI
    server.failingChannels.append("PJSIP/broken*")
    conf = amiConf(tmp_path, port, extra="[FastAGI]\ncontext = ivr\n")
    streams = Streams()
    status = await run(["originate", "PJSIP/100", "-c", conf, "--exten", "200",
                        "--variable", "A=1", "--callerid", '"Desk" <100>'], streams)
    assert status == cli.EXIT_OK, streams.err.getvalue()
    assert streams.out.getvalue().startswith("Event: OriginateResponse\n")
    assert "Response: Success\n" in streams.out.getvalue()
    (action,) = [m for m in server.received if m["action"] == "Originate"]
    assert (action["context"], action["exten"], action["priority"], action["variable"],
            action["async"]) == ("ivr", "200", "1", "A=1", "true")
    streams = Streams()
    status = await run(["originate", "PJSIP/broken", "-c", conf,
                        "--application", "Playback", "--data", "beep"], streams)
    assert status == cli.EXIT_ACTION_FAILED
    assert streams.err.getvalue().startswith("starpy originate: originate to PJSIP/broken: ")
    assert "Response: Failure" in streams.out.getvalue()


@pytest_twisted.ensureDeferred
async def test_originateVariablesReachTheChannelExactly(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI
    conf = amiConf(tmp_path, port, extra="[FastAGI]\ncontext = ivr\n")
    streams = Streams()
    status = await run(["originate", "PJSIP/100", "-c", conf, "--variable", "V=a,X=1",
                        "--variable", 'W=say "hi"', "--variable", "P=C:\\temp\\x"], streams)
    assert status == cli.EXIT_OK, streams.err.getvalue()
    (channel,) = server.channels.values()
    assert (channel.variables["V"], channel.variables["W"], channel.variables["P"]) == (
        "a,X=1", 'say "hi"', "C:\\temp\\x")
    assert "X" not in channel.variables
    streams = Streams()
    received = len(server.received)
    status = await run(["originate", "PJSIP/100", "-c", conf, "--variable", "V=a\nb"], streams)
    assert status == cli.EXIT_USAGE
    assert streams.err.getvalue() == (
        "starpy originate: the value of variable 'V' holds '\\n', which no AMI header"
        " can carry\n")
    assert len(server.received) == received  # refused before connecting


@pytest_twisted.ensureDeferred
async def test_loginFailuresHaveDistinctStatuses(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI
    streams = Streams()
    status = await run(["action", "Ping", "-c", amiConf(tmp_path, port, secret="bad")], streams)
    assert status == cli.EXIT_LOGIN_FAILED
    assert streams.err.getvalue() == (
        "starpy action: login as 'starpy' at 127.0.0.1:%d refused: Authentication failed\n"
        % port)
    closed = server.listen(0, reactor=reactor)
    closedPort = portNumber(closed)
    await server.stopListening()
    streams = Streams()
    status = await run(["action", "Ping", "-c", amiConf(tmp_path, closedPort)], streams)
    assert status == cli.EXIT_UNREACHABLE
    assert streams.err.getvalue().startswith(
        "starpy action: cannot reach Asterisk's AMI at 127.0.0.1:%d: " % closedPort)
    streams = Streams()
    noUser = write(tmp_path / "nouser.conf", "[AMI]\nport = %d\n" % port)
    assert await run(["events", "-c", noUser], streams) == cli.EXIT_BAD_CONFIG
    assert streams.err.getvalue() == (
        "starpy events: [AMI] username: not set: add it to starpy.conf to use the AMI\n")
    streams = Streams()
    bad = write(tmp_path / "bad.conf", "[AMI]\nport = nope\n")
    assert await run(["originate", "PJSIP/1", "-c", bad], streams) == cli.EXIT_BAD_CONFIG
    assert streams.err.getvalue() == (
        "starpy originate: %s: [AMI] port: expected a port number (0-65535), got 'nope'\n" % bad)


# -- serve ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("m:f", dict(extension=None, context=None, script=None)),
    ("100=m:f", dict(extension="100", context=None, script=None)),
    ("100@sales=m:f", dict(extension="100", context="sales", script=None)),
    ("@sales=m:f", dict(extension=None, context="sales", script=None)),
    ("/hello/=m:f", dict(extension=None, context=None, script="hello")),
])
def test_routes(text: str, expected: dict[str, Any]) -> None:
    route = parseRoute(text)
    assert route.reference == "m:f"
    assert dict(extension=route.extension, context=route.context, script=route.script) == expected


@pytest_twisted.ensureDeferred
async def test_serveRejectsBadRoutesAndHandlers(tmp_path: Path) -> None:
    conf = write(tmp_path / "s.conf", "[FastAGI]\nport = 0\n")
    cases = [
        (["nocolon"], "starpy serve: route 'nocolon': the handler must be module:function\n"),
        (["=m:f"], "starpy serve: route '=m:f': expected EXTEN, EXTEN@CONTEXT, @CONTEXT or "
                   "/PATH before '='\n"),
        (["/=m:f"], "starpy serve: route '/=m:f': empty script path\n"),
        (["no_such_module_xyz:f"], "starpy serve: cannot load no_such_module_xyz:f: "
                                   "ModuleNotFoundError: No module named 'no_such_module_xyz'\n"),
        (["tests.servehandlers:missing"], "starpy serve: cannot load "
         "tests.servehandlers:missing: AttributeError: module 'tests.servehandlers' has no "
         "attribute 'missing'\n"),
        (["tests.servehandlers:os.sep"], "starpy serve: handler tests.servehandlers:os.sep is "
                                         "not callable\n"),
    ]
    for routes, message in cases:
        streams = Streams()
        assert await run(["serve", "-c", conf, *routes], streams) == cli.EXIT_USAGE
        assert streams.err.getvalue() == message
    with pytest.raises(SystemExit) as exited:  # argparse refuses it: see below
        run(["serve", "-c", conf, "--workers", "0", "m:f"], Streams())
    assert exited.value.code == cli.EXIT_USAGE


def test_preparedServeRoutesCalls() -> None:
    """The application ``starpy serve`` builds, driven by the fake caller in memory."""
    from starpy.cli.serve import prepareServe

    args = cli._buildParser().parse_args([
        "serve", "-c", os.devnull, "100=tests.servehandlers:hello",
        "/x=tests.servehandlers:other", "--port", "0"])
    clock = Clock()
    application = prepareServe(args, clock)
    assert application.agiSpecifier.port == 0
    assert application.agiSpecifier.backlog == 1024  # the default survives bursts
    factory = application.agiSpecifier.factory(application.dispatchIncomingCall)
    for request, extension, expected in [("agi://h/", "100", "hello"), ("agi://h/x", "1", "other")]:
        channel = SimulatedChannel(request=request, extension=extension)
        placeCallInMemory(factory, channel, clock).runUntilFinished()
        assert channel.variables["SERVED"] == "%s %d" % (expected, os.getpid())


def test_serveBacklogOptionOverridesTheConfiguration(tmp_path: Path) -> None:
    from starpy.cli.serve import prepareServe

    conf = tmp_path / "starpy.conf"
    conf.write_text("[FastAGI]\nbacklog = 200\n")
    parse = cli._buildParser().parse_args
    args = parse(["serve", "-c", str(conf), "tests.servehandlers:hello"])
    assert prepareServe(args, Clock()).agiSpecifier.backlog == 200
    args = parse(["serve", "-c", str(conf), "tests.servehandlers:hello", "--backlog", "2048"])
    assert prepareServe(args, Clock()).agiSpecifier.backlog == 2048


# -- end to end, in subprocesses --------------------------------------------------------------


def starpyProcess(*args: str, cwd: Path = ROOT) -> "subprocess.Popen[str]":
    return subprocess.Popen([sys.executable, "-m", "starpy", *args], cwd=str(cwd),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def listeningPort(process: "subprocess.Popen[str]") -> int:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("starpy serve: FastAGI listening on 127.0.0.1:"), (
        line, process.stderr.read() if process.poll() is not None and process.stderr else "")
    return int(line.split(":")[2].split()[0])


def stop(process: "subprocess.Popen[str]") -> Tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def rawCall(port: int, extension: str = "100", script: str = "") -> List[str]:
    """Play Asterisk for one call with a blocking socket; every command gets ``200 result=1``."""
    env = ("agi_network: yes\nagi_network_script: %s\nagi_request: agi://127.0.0.1:%d/%s\n"
           "agi_channel: PJSIP/t-00000001\nagi_context: default\nagi_extension: %s\n"
           "agi_priority: 1\n\n" % (script, port, script, extension))
    commands = []
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(env.encode())
        for line in sock.makefile("rb"):
            commands.append(line.decode().strip())
            sock.sendall(b"200 result=1\n")
    return commands


def test_serveEndToEnd(tmp_path: Path) -> None:
    conf = write(tmp_path / "s.conf", "[FastAGI]\nport = 0\n")
    process = starpyProcess("serve", "-c", conf, "100=tests.servehandlers:hello",
                            "/x=tests.servehandlers:other")
    try:
        port = listeningPort(process)
        assert rawCall(port, "100") == ['SET VARIABLE SERVED "hello %d"' % process.pid]
        assert rawCall(port, "100", "x") == ['SET VARIABLE SERVED "other %d"' % process.pid]
        assert rawCall(port, "555") == []
    finally:
        status, err = stop(process)
    assert status == 0, err
    assert "no handler for the call on PJSIP/t-00000001 to extension '555'" in err


def twoWorkers(port: int) -> List[int]:
    """Two calls at once to ``tests.servehandlers:blockingPid``: the first blocks its
    worker, so the second must be accepted by the other worker.  Returns their pids."""
    pids = []
    sockets = []
    try:
        for _ in range(2):   # connect the second only once the first is served
            sock = socket.create_connection(("127.0.0.1", port), timeout=60)
            sockets.append(sock)
            sock.sendall(b"agi_network: yes\nagi_extension: s\n\n")
            line = sock.makefile("rb").readline().decode()
            assert line.startswith("PID "), line
            pids.append(int(line.split()[1]))
        for sock in sockets:
            sock.sendall(b"go\n")
    finally:
        for sock in sockets:
            sock.close()
    return pids


def test_serveWorkersShareOneSocket(tmp_path: Path) -> None:
    conf = write(tmp_path / "s.conf", "[FastAGI]\nport = 0\n")
    process = starpyProcess("serve", "-c", conf, "--workers", "2",
                            "tests.servehandlers:blockingPid")
    try:
        port = listeningPort(process)
        pids = twoWorkers(port)
        assert len(set(pids)) == 2 and process.pid not in pids
        os.kill(pids[0], signal.SIGKILL)          # the supervisor restarts it
        again = twoWorkers(port)
        assert len(set(again)) == 2 and pids[0] not in again
    finally:
        status, err = stop(process)
    assert status == 0, err
    assert "restarting it" in err
    for pid in set(pids + again):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)                       # every worker stopped and was reaped


def waitForExit(pid: int, deadline: float) -> bool:
    """Wait until process *pid* (not a child of ours) has exited, or until
    ``time.monotonic()`` reaches *deadline*; whether it exited.  A pidfd turns
    readable when the process ends, reaped or not (an orphan may stay a zombie
    where PID 1 does not reap)."""
    import select
    import time

    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([handle], [], [], max(0.0, deadline - time.monotonic()))
        return bool(ready)
    finally:
        os.close(handle)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits on the workers with a pidfd (Linux)")
def test_serveWorkersStopWhenTheSupervisorIsKilled(tmp_path: Path) -> None:
    """README, Scaling out: "a worker stops by itself if the parent disappears"
    (its stdin, a pipe from the supervisor, reaches its end)."""
    import time

    conf = write(tmp_path / "s.conf", "[FastAGI]\nport = 0\n")
    process = starpyProcess("serve", "-c", conf, "--workers", "2",
                            "tests.servehandlers:blockingPid")
    running: List[int] = []
    try:
        port = listeningPort(process)
        pids = twoWorkers(port)
        running = list(pids)
        assert len(set(pids)) == 2 and process.pid not in pids
        process.kill()                            # SIGKILL: the supervisor cannot stop them
        assert process.wait(timeout=60) == -signal.SIGKILL
        deadline = time.monotonic() + 30.0
        running = [pid for pid in pids if not waitForExit(pid, deadline)]
        assert running == []
        # The workers shared the supervisor's stderr: it ends once both are gone.
        _, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert err.count("the supervisor is gone; stopping") == 2, err
        with pytest.raises(OSError):              # the port is closed: nobody accepts
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        for pid in running:                       # only if the assertion above failed
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest_twisted.ensureDeferred
async def test_consoleCommandAgainstTheFakeAsterisk(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI
    out, err, code = await getProcessOutputAndValue(
        sys.executable, ["-m", "starpy", "action", "Command", "Command=core show version",
                         "-c", amiConf(tmp_path, port)], env=dict(os.environ), path=str(ROOT))
    assert code == cli.EXIT_OK, err
    assert b"Output: Asterisk 22.10.1 built by" in out
    out, err, code = await getProcessOutputAndValue(
        sys.executable, ["-m", "starpy", "action", "Ping", "-c",
                         amiConf(tmp_path, port, secret="wrong")], env=dict(os.environ),
        path=str(ROOT))
    assert code == cli.EXIT_LOGIN_FAILED
    assert err.decode().strip().splitlines()[-1].startswith("starpy action: login as 'starpy'")


# -- bad input: usage errors before connecting; values that stdout cannot encode -------------


def strictStream() -> io.TextIOWrapper:
    """A stream that refuses what UTF-8 cannot encode, as a piped stdout does."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")


def written(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


def countConnections(server: FakeAMIServerFactory,
                     monkeypatch: pytest.MonkeyPatch) -> List[Optional[IAddress]]:
    """The connections *server* accepts from now on."""
    connections: List[Optional[IAddress]] = []
    original = server.buildProtocol

    def buildProtocol(address: Optional[IAddress]) -> object:
        connections.append(address)
        return original(address)

    monkeypatch.setattr(server, "buildProtocol", buildProtocol)
    return connections


@pytest.mark.parametrize("argv,words", [
    (["serve", "m:f", "--port", "99999"], "argument --port: expected a port number (0-65535)"),
    (["serve", "m:f", "--port", "-1"], "argument --port: expected a port number"),
    (["serve", "m:f", "--port", "http"], "argument --port: expected a port number"),
    (["serve", "m:f", "--workers", "0"], "argument --workers: expected a number of workers"),
    (["serve", "m:f", "--backlog", "0"], "argument --backlog: expected a whole number, 1 or more"),
    (["serve", "m:f", "--workers", "100000"], "from 1 to 256, got '100000'"),
    (["events", "--count", "0"], "argument --count: expected a whole number, 1 or more"),
    (["events", "--count", "-1"], "argument --count: expected a whole number, 1 or more"),
    (["originate", "PJSIP/1", "--timeout", "-5"], "argument --timeout: expected seconds"),
    (["originate", "PJSIP/1", "--timeout", "0"], "argument --timeout: expected seconds"),
    (["originate", "PJSIP/1", "--timeout", "0.0004"], "argument --timeout: expected seconds"),
    (["originate", "PJSIP/1", "--timeout", "nan"], "argument --timeout: expected seconds"),
    (["originate", "PJSIP/1", "--timeout", "inf"], "argument --timeout: expected seconds"),
    (["originate", "PJSIP/1", "--timeout", "3e6"], "from 0.001 to 2147483, got '3e6'"),
    (["originate", "PJSIP/1", "--priority", "abc"], "argument --priority: expected a priority"),
    (["originate", "PJSIP/1", "--priority", "0"], "argument --priority: expected a priority"),
    (["demo", "--calls", "x"], "argument --calls: invalid int value: 'x'"),
    (["action"], "the following arguments are required: NAME (see"),
    (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    (["events", "--nosuch"], "starpy events: unrecognized arguments: --nosuch (see starpy "
                             "events --help)"),
    (["serve", "m:f", "--nosuch"], "starpy serve: unrecognized arguments: --nosuch"),
])
def test_badOptionsAreOneLineUsageErrors(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: List[str],
        words: str) -> None:
    server, port = fakeAMI
    connections = countConnections(server, monkeypatch)
    conf = amiConf(tmp_path, port, extra="[FastAGI]\nport = 0\n")
    with pytest.raises(SystemExit) as exited:
        cli.main(argv[:1] + (["-c", conf] if argv[0] != "demo" and len(argv) > 1 else [])
                 + argv[1:])
    assert exited.value.code == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.endswith("--help)\n"), captured.err
    assert captured.err.startswith("starpy") and words in captured.err
    assert connections == []


def test_optionValuesThatAreAccepted() -> None:
    parse = cli._buildParser().parse_args
    assert parse(["serve", "m:f", "--port", "0"]).port == 0
    assert parse(["serve", "m:f", "--backlog", "4096"]).backlog == 4096
    assert parse(["serve", "m:f", "--port", "65535", "--workers", "256"]).workers == 256
    args = parse(["originate", "X", "--timeout", "0.001", "--priority", " 7"])
    assert (args.timeout, args.priority) == (0.001, "7")
    assert parse(["originate", "X"]).priority == "1"
    assert parse(["events", "--count", "1"]).count == 1
    assert parse(["action", "CoreStatus"]).headers == []


@pytest_twisted.ensureDeferred
async def test_unsendableActionsAreUsageErrorsBeforeConnecting(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    server, port = fakeAMI
    connections = countConnections(server, monkeypatch)
    conf = amiConf(tmp_path, port, extra="[FastAGI]\ncontext = ivr\n")
    cases = [
        (["action", "Ping", "ActionID=7"], "header 'ActionID' is set by the protocol"),
        (["action", "Ping", "action=Hangup"], "header 'action' is set by the protocol"),
        (["action", "Ping\r\nAction: Hangup"], "CR or LF"),
        (["action", "Ping", "X-Head=a\nAction: Hangup"], "CR or LF"),
        (["action", "Ping", "Bad\r\nName=1"], "invalid AMI header name"),
        (["action", "Ping", " Spaced=1"], "invalid AMI header name"),
        (["action", " "], "the action NAME is empty"),
        (["originate", "PJSIP/1\r\nAction: Hangup"], "CR or LF"),
        (["originate", "PJSIP/1", "--exten", "100\n"], "CR or LF"),
        (["originate", "PJSIP/1", "--application", "Playback", "--data", "a\rb"], "CR or LF"),
        (["originate", "PJSIP/1", "--callerid", "x\ny"], "CR or LF"),
        (["originate", ""], "CHANNEL is empty"),
        (["events", "=x"], "no header name before '='"),
    ]
    for argv, words in cases:
        streams = Streams()
        status = await run(argv + ["-c", conf], streams)
        err = streams.err.getvalue()
        assert status == cli.EXIT_USAGE, (argv, err)
        assert err.count("\n") == 1 and words in err, (argv, err)
        assert err.startswith("starpy %s: " % argv[0]) and "unexpected" not in err
    assert connections == [] and server.received == []


@pytest_twisted.ensureDeferred
async def test_serveRefusesAmbiguousRoutesBeforeLoadingHandlers(tmp_path: Path) -> None:
    conf = write(tmp_path / "s.conf", "[FastAGI]\nport = 0\n")
    cases = [
        (["100=no_such_module:a", "100=no_such_module:b"],
         "route '100=no_such_module:b': extension 100 is already routed by "
         "'100=no_such_module:a'"),
        (["100@sales=m:f", "100@sales=m:g"], "extension 100@sales is already routed"),
        (["@sales=m:f", "@sales=m:g"], "any call in context sales is already routed"),
        (["/hello=m:f", "/hello/=m:g"], "script /hello is already routed by '/hello=m:f'"),
        (["m:f", "m:g"], "route 'm:g': any other call is already routed by 'm:f'"),
        (["100@=m:f"], "route '100@=m:f': expected EXTEN, EXTEN@CONTEXT"),
        (["/hello?x=1=m:f"], "a script path has no '?'"),
    ]
    for routes, words in cases:
        streams = Streams()
        assert await run(["serve", "-c", conf, *routes], streams) == cli.EXIT_USAGE
        err = streams.err.getvalue()
        assert err.count("\n") == 1 and words in err, err
    # the same extension in two contexts, or in a context and in any, is no repeat
    assert [r.describe() for r in parseRoutes(["100=m:f", "100@a=m:f", "100@b=m:f", "m:f"])] == [
        "extension 100", "extension 100@a", "extension 100@b", "any other call"]


def test_agiHandlerErrorsAreOneLine(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_configureLogging", lambda verbose: None)  # leave logging alone
    for handler, words in [
        ("tests.servehandlers:os.sep", "handler tests.servehandlers:os.sep is not callable"),
        ("tests.servehandlers:nothing", "has no attribute 'nothing'"),
        ("no_such_module_xyz:f", "No module named 'no_such_module_xyz'"),
        ("nocolon", "HANDLER must be module:function"),
    ]:
        assert cli.main(["agi", handler]) == cli.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("starpy agi: ") and words in err, err


@pytest_twisted.ensureDeferred
async def test_eventsWithUndecodableBytesOnAStrictStdout(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    """A Latin-1 value (kept by the codec as a lone surrogate) is printed escaped."""
    server, port = fakeAMI

    def onErr(text: str) -> None:
        if text.startswith("# logged in"):
            server.emitEvent("Hangup", privilege="call,all", Channel="PJSIP/caf\udce9-01")
            server.emitEvent("Hangup", privilege="call,all", Channel="PJSIP/later")

    streams = Streams(onErr)
    out = strictStream()
    status = await cli.runCommand(["events", "-c", amiConf(tmp_path, port), "--count", "1",
                                   "Hangup"], reactor, out, streams.err)
    assert status == cli.EXIT_OK, streams.err.getvalue()
    assert written(out) == "Event: Hangup\nPrivilege: call,all\nChannel: PJSIP/caf\\xe9-01\n\n"
    assert "Traceback" not in streams.err.getvalue()


@pytest_twisted.ensureDeferred
async def test_actionWithUndecodableBytesOnAStrictStdout(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    server, port = fakeAMI
    server.astdb[("fam", "key")] = "Jos\udce9 \u00e9"
    out, err = strictStream(), strictStream()
    status = await cli.runCommand(["action", "DBGet", "Family=fam", "Key=key", "-c",
                                   amiConf(tmp_path, port)], reactor, out, err)
    assert status == cli.EXIT_OK, written(err)
    assert "Val: Jos\\xe9 \u00e9\n" in written(out)  # valid UTF-8 stays as it is
    assert written(err) == "# 1 item\n"


def test_printableEscapesWhatTheStreamCannotEncode() -> None:
    assert printable("plain \u00e9") == "plain \u00e9"
    assert printable("caf\udce9 \ud800") == "caf\\xe9 \\ud800"
    assert printable("caf\udce9 \u00e9 \u20ac", "ascii") == "caf\\xe9 \\xe9 \\u20ac"
    assert printable("\u00e9", "latin-1") == "\u00e9"
    out = strictStream()
    print("Channel: caf\udce9", file=escapingStream(out))
    assert written(out) == "Channel: caf\\xe9\n"


def test_errorsWithUndecodableBytesOnAStrictStderr() -> None:
    """A one-line error holding such bytes reaches a strict stderr escaped, on one line."""
    err = strictStream()
    cli._report(escapingStream(err), "starpy action: Hangup failed: no channel caf\udce9\nmore")
    assert written(err) == "starpy action: Hangup failed: no channel caf\\xe9 more\n"


def test_checkConfigWithUndecodableBytesOnAStrictStdout(tmp_path: Path) -> None:
    from starpy.cli.checkconfig import runCheckConfig

    conf = write(tmp_path / "s.conf", "[AMI]\nusername = mon\nsecret = s\n")
    manager = tmp_path / "manager.conf"
    manager.write_bytes(b"[general]\nenabled = yes\n[mon]\nsecret = s\nread = call\n"
                        b"permit = caf\xe9\n")
    args = cli._buildParser().parse_args(["check-config", "-c", conf, "--manager-conf",
                                          str(manager)])
    out, err = strictStream(), strictStream()
    assert runCheckConfig(args, out, err) == cli.EXIT_OK
    assert "  permit: caf\\xe9; deny: -; acl: -\n" in written(out)


@pytest_twisted.ensureDeferred
async def test_eventsStopWhenStdoutIsGone(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    """``starpy events | head -1``: once the reader has gone, stop with one line."""
    server, port = fakeAMI

    class Gone(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    def onErr(text: str) -> None:
        if text.startswith("# logged in"):
            server.emitEvent("Hangup", privilege="call,all", Channel="PJSIP/1")

    streams = Streams(onErr)
    status = await cli.runCommand(["events", "-c", amiConf(tmp_path, port), "Hangup"],
                                  reactor, Gone(), streams.err)
    assert status == cli.EXIT_FAILURE
    assert streams.err.getvalue().splitlines()[1:] == [
        "starpy events: cannot write the events: [Errno 32] Broken pipe"]


@pytest_twisted.ensureDeferred
async def test_consoleCommandWithLatin1BytesAndABadHeader(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    """The real command on a strict UTF-8 stdout: escaped value; an unsendable header is 2."""
    server, port = fakeAMI
    server.astdb[("fam", "key")] = "Jos\udce9"
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")
    conf = amiConf(tmp_path, port)
    out, err, code = await getProcessOutputAndValue(
        sys.executable, ["-m", "starpy", "action", "DBGet", "Family=fam", "Key=key", "-c", conf],
        env=env, path=str(ROOT))
    assert code == cli.EXIT_OK, err
    assert b"Val: Jos\\xe9\n" in out and b"Traceback" not in err
    logins = len([m for m in server.received if m["action"] == "Login"])
    out, err, code = await getProcessOutputAndValue(
        sys.executable, ["-m", "starpy", "action", "Ping", "ActionID=7", "-c", conf],
        env=env, path=str(ROOT))
    assert code == cli.EXIT_USAGE
    assert err.decode() == ("starpy action: cannot send the action: header 'ActionID' is set "
                            "by the protocol, not in the headers\n")
    assert len([m for m in server.received if m["action"] == "Login"]) == logins


@pytest_twisted.ensureDeferred
async def test_consoleCommandRefusedLoginIsOneLine(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    """The real command: a refused login is one line on stderr, no log record beside it."""
    server, port = fakeAMI
    out, err, code = await getProcessOutputAndValue(
        sys.executable, ["-m", "starpy", "action", "Ping", "-c",
                         amiConf(tmp_path, port, secret="wrong")],
        env=dict(os.environ), path=str(ROOT))
    assert code == cli.EXIT_LOGIN_FAILED
    assert err.decode() == ("starpy action: login as 'starpy' at 127.0.0.1:%d refused: "
                            "Authentication failed\n" % port)
    assert out == b""


# -- events --json ------------------------------------------------------------------------------


def test_formatJsonKeepsEveryHeaderAndRepeatsAsLists() -> None:
    import json

    from starpy.cli.ami import formatJSON

    event = Message([("Event", "VarSet"), ("Privilege", "dialplan,all"),
                     ("ChanVariable", "A=1"), ("chanvariable", "B=2"), ("ChanVariable", "C=3"),
                     ("Value", "caf\udce9 \u00e9"), ("Secret", "hush"), ("Empty", "")])
    line = formatJSON(event, "pbx1")
    assert "\n" not in line and line.isascii()
    assert json.loads(line) == {
        "Event": "VarSet", "Privilege": "dialplan,all",
        "ChanVariable": ["A=1", "B=2", "C=3"],   # any case, first spelling kept
        "Value": "caf\\xe9 \u00e9",              # a byte that was not UTF-8, as \xNN
        "Secret": "********", "Empty": "", "_server": "pbx1"}
    assert list(json.loads(line)) == ["Event", "Privilege", "ChanVariable", "Value", "Secret",
                                      "Empty", "_server"]
    assert "_server" not in json.loads(formatJSON(Message([("Event", "Hangup")])))


@pytest_twisted.ensureDeferred
async def test_eventsJsonLinesWithTheServerName(
        tmp_path: Path, fakeAMI: Tuple[FakeAMIServerFactory, int]) -> None:
    import json

    server, port = fakeAMI

    def onErr(text: str) -> None:
        if text.startswith("# logged in"):
            server.emitEvent([("Event", "Newchannel"), ("Privilege", "call,all"),
                              ("Channel", "PJSIP/100-01"), ("ChanVariable", "X=1"),
                              ("ChanVariable", "Y=2")])
            server.emitEvent("Hangup", privilege="call,all", Channel="PJSIP/100-01", Cause="16")

    streams = Streams(onErr)
    status = await run(["events", "-c", amiConf(tmp_path, port), "--count", "2", "--json",
                        "Newchannel", "Hangup"], streams)
    assert status == cli.EXIT_OK, streams.err.getvalue()
    lines = streams.out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"Event": "Newchannel", "Privilege": "call,all", "Channel": "PJSIP/100-01",
         "ChanVariable": ["X=1", "Y=2"], "_server": "127.0.0.1:%d" % port},
        {"Event": "Hangup", "Privilege": "call,all", "Channel": "PJSIP/100-01", "Cause": "16",
         "_server": "127.0.0.1:%d" % port}]
    streams = Streams(lambda text: text.startswith("# logged in") and server.emitEvent(
        "Hangup", privilege="call,all", Channel="PJSIP/1"))
    status = await run(["events", "-c", amiConf(tmp_path, port), "--count", "1", "--json",
                        "--server-name", "pbx-paris"], streams)
    assert status == cli.EXIT_OK, streams.err.getvalue()
    assert json.loads(streams.out.getvalue())["_server"] == "pbx-paris"


def test_eventsServerNameWithoutJsonIsAUsageError() -> None:
    from starpy.cli.ami import CommandError, runEvents

    args = cli._buildParser().parse_args(["events", "--server-name", "x"])
    streams = Streams()
    with pytest.raises(CommandError, match="--server-name applies to --json output only") as e:
        runEvents(None, args, streams.out, streams.err).send(None)  # refused before connecting
    assert e.value.status == cli.EXIT_USAGE


def test_checkSendableTurnsOnlyTheLibrarysRefusalsIntoUsageErrors() -> None:
    """A refusal (LocalProtocolError, a wrong type) is exit status 2; any
    other ValueError is a bug and is not passed off as bad usage."""
    from starpy.cli.ami import CommandError, checkSendable

    with pytest.raises(CommandError) as caught:
        checkSendable("the action", lambda ami: ami.sendAction("Ping", {"X": "a\nb"}))
    assert caught.value.status == cli.EXIT_USAGE
    assert "cannot send the action: AMI header 'X' has a CR or LF" in caught.value.message
    with pytest.raises(CommandError) as caught:
        checkSendable("the action",  # wrong on purpose:
                      lambda ami: ami.hangup(channel=3.5j, nope=1))  # type: ignore[arg-type, call-arg]
    assert caught.value.status == cli.EXIT_USAGE

    def broken(ami: Any) -> None:
        raise ValueError("a bug in the caller")

    with pytest.raises(ValueError, match="a bug in the caller") as bug:
        checkSendable("the action", broken)
    assert not isinstance(bug.value, CommandError)
