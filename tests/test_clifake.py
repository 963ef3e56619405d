"""``starpy fake``: the README's "Try it without Asterisk" walkthrough, run as
written (in subprocesses, on free ports), and the sub-command's options."""
from __future__ import annotations

import io
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import ClientFactory, ServerFactory
from twisted.internet.task import Clock

from starpy import cli
from starpy.agi import digitChar
from starpy.error import AGICommandFailure
from starpy.fastagi import FastAGIFactory
from starpy.manager import AMIFactory, AMIProtocol
from starpy.testing.memory import MemoryConnection, nextClientAddress

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index("\n## " + title + "\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def _blocks(text: str, kind: str) -> List[str]:
    return re.findall(r"```%s\n(.*?)```" % kind, text, re.S)


class Processes:
    """The background processes of a walkthrough; all stopped at the end."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.running: List["subprocess.Popen[str]"] = []
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT)] + ([self.env["PYTHONPATH"]] if self.env.get("PYTHONPATH") else []))
        self.env.pop("STARPY_CONF", None)
        self.env["HOME"] = str(cwd)

    def argv(self, args: List[str]) -> List[str]:
        assert args[0] == "starpy", args
        return [sys.executable, "-m", "starpy", *args[1:]]

    def start(self, args: List[str]) -> "subprocess.Popen[str]":
        process = subprocess.Popen(self.argv(args), cwd=str(self.cwd), env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.running.append(process)
        return process

    def run(self, args: List[str]) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(self.argv(args), cwd=str(self.cwd), env=self.env,
                              capture_output=True, text=True, timeout=120)

    def stopAll(self) -> List[Tuple[int, str]]:
        results = []
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=60)
            results.append((process.returncode, err))
        return results


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        for process in running.running:
            if process.poll() is None:
                process.kill()
                process.communicate()


def _firstLine(process: "subprocess.Popen[str]", prefix: str) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(prefix), (line, process.stderr.read() if process.poll() is not None
                                     and process.stderr else "")
    return line


def test_readmeWalkthroughRunsAsWritten(tmp_path: Path, processes: Processes) -> None:
    text = _section("Try it without Asterisk")
    (app,) = _blocks(text, "python")
    (tmp_path / "myapp.py").write_text(app)
    shownConfig, shownCalls = _blocks(text, "text")
    commands = [line for block in _blocks(text, "sh") for line in block.splitlines()
                if line.strip()]
    fastAGIPort: Optional[int] = None
    eventsProcess = None
    ran: List[str] = []
    for line in commands:
        command, _, comment = line.partition("#")
        args = shlex.split(command)
        background = args[-1] == "&"
        if background:
            args = args[:-1]
        if args[:2] == ["starpy", "fake"] and "--calls" not in args:
            # The README's port 5038 may be taken here: any free one, then
            # the starpy.conf it prints, as the README says.
            process = processes.start(args + ["--ami-port", "0"])
            first = _firstLine(process, "starpy fake: fake Asterisk AMI listening on 127.0.0.1:")
            port = int(first.rsplit(":", 1)[1])
            assert process.stdout is not None
            printed = [first] + [process.stdout.readline() for _ in range(6)]
            assert "".join(printed) == shownConfig.replace("5038", str(port))
            (tmp_path / "starpy.conf").write_text(
                "".join(line[4:] for line in printed[2:]))
        elif args[:2] == ["starpy", "serve"]:
            args[args.index("--port") + 1] = "0"
            process = processes.start(args)
            first = _firstLine(process, "starpy serve: FastAGI listening on 127.0.0.1:")
            fastAGIPort = int(first.rsplit(":", 1)[1])
        elif background:
            assert args[:2] == ["starpy", "events"], line
            eventsProcess = processes.start(args)
            assert eventsProcess.stderr is not None
            assert eventsProcess.stderr.readline().startswith("# logged in to 127.0.0.1:")
        elif "--calls" in args:
            assert fastAGIPort is not None and "--fastagi" not in args
            done = processes.run(args + ["--fastagi", "127.0.0.1:%d" % fastAGIPort])
            assert done.returncode == 0, done.stderr
            calls = [row for row in done.stdout.splitlines() if row.startswith("starpy fake: call")]
            assert "\n".join(calls) + "\n" == shownCalls
        else:
            done = processes.run(args)
            expected = re.search(r"exit status (\d+)", comment)
            assert done.returncode == (int(expected.group(1)) if expected else 0), (line, done.stderr)
            if expected:
                assert done.stderr == ("starpy action: Park failed: Channel does not exist: "
                                       "PJSIP/nosuch\n")
                assert "`starpy action: Park failed: Channel does not exist:\nPJSIP/nosuch`" in text
            if args[1:3] == ["action", "QueueStatus"]:
                assert "Name: Carol" in done.stdout and "Event: QueueStatusComplete" in done.stdout
        ran.append(" ".join(args[:3]))
    assert eventsProcess is not None
    out, err = eventsProcess.communicate(timeout=60)
    assert eventsProcess.returncode == 0, err
    assert [row for row in out.splitlines() if row.startswith("Event: ")] == [
        "Event: OriginateResponse", "Event: Hangup"]
    assert "Channel: PJSIP/100-00000001" in out
    for status, err in processes.stopAll():
        assert status == 0, err
    assert ran == ["starpy fake", "starpy action Ping", "starpy action QueueAdd",
                   "starpy action QueueStatus", "starpy events OriginateResponse",
                   "starpy originate PJSIP/100", "starpy action Hangup", "starpy action Park",
                   "starpy serve --port", "starpy fake --ami-port"]


@pytest.mark.parametrize("args, message", [
    (["--ami-port", "70000"], "argument --ami-port: expected a port number (0-65535)"),
    (["--calls", "-1"], "argument --calls: expected a whole number, 0 or more"),
    (["--for", "0"], "argument --for: expected seconds (more than 0)"),
    (["--for", "nan"], "argument --for: expected seconds (more than 0)"),
    (["--calls", "1", "--fastagi", "4573"], "argument --fastagi: expected HOST:PORT"),
    (["--calls", "1", "--fastagi", "h:0"], "argument --fastagi: expected HOST:PORT"),
    (["--calls", "1", "--dtmf", "12x"], "argument --dtmf: expected DTMF digits"),
    (["--calls", "1", "--hangup-after", "-2"], "argument --hangup-after: expected seconds"),
])
def test_badOptionsAreOneLineUsageErrors(
        args: List[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(["fake", *args])
    assert exit.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("starpy fake: ") and message in err and err.count("\n") == 1, err


@pytest_twisted.ensureDeferred
async def test_callOptionsNeedCalls() -> None:
    out, err = io.StringIO(), io.StringIO()
    status = await cli.runCommand(["fake", "--ami-port", "0", "--dtmf", "1"], reactor, out, err)
    assert status == cli.EXIT_USAGE
    assert err.getvalue() == ("starpy fake: --fastagi, --script, --dtmf and --hangup-after "
                              "describe the calls of --calls N\n")
    assert out.getvalue() == ""


@pytest_twisted.ensureDeferred
async def test_unreachableFastagiServerIsStatus4() -> None:
    import socket

    # A port nothing listens on: bound, never listening.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        out, err = io.StringIO(), io.StringIO()
        status = await cli.runCommand(["fake", "--ami-port", "0", "--calls", "1", "--fastagi",
                                       "127.0.0.1:%d" % port], reactor, out, err)
    assert status == cli.EXIT_UNREACHABLE
    assert err.getvalue().startswith("starpy fake: cannot reach the FastAGI server at "
                                     "127.0.0.1:%d: ConnectionRefusedError" % port)


@pytest_twisted.ensureDeferred
async def test_forSecondsStopsTheFakeAndFreesThePort() -> None:
    from twisted.internet import defer, protocol, task

    clock = task.Clock()

    class ClockReactor:
        """The real reactor for TCP, a Clock for time: --for ends on clock.advance."""

        def __getattr__(self, name: str) -> object:
            return getattr(reactor, name)

        def callLater(self, delay: float, callable: Callable[..., object], *args: object,
                      **kwargs: object) -> IDelayedCall:
            return clock.callLater(delay, callable, *args, **kwargs)

        def seconds(self) -> float:
            return clock.seconds()

    out, err = io.StringIO(), io.StringIO()
    d = cli.runCommand(["fake", "--ami-port", "0", "--for", "30"], ClockReactor(), out, err)
    port = int(out.getvalue().splitlines()[0].rsplit(":", 1)[1])
    clock.advance(29.9)
    assert not d.called
    clock.advance(0.1)
    assert await d == cli.EXIT_OK
    # The port is free again: listening on it works.
    listening = reactor.listenTCP(port, protocol.ServerFactory(), interface="127.0.0.1")
    await defer.maybeDeferred(listening.stopListening)


def test_fakeAsteriskHangsUpTheCallerOnAmiHangup() -> None:
    from twisted.internet import task

    from starpy.cli.fake import FakeAsterisk, configText
    from starpy.testing.agi import SimulatedChannel

    clock = task.Clock()
    server = FakeAsterisk(clock)
    caller = SimulatedChannel(name="PJSIP/caller-00000001")
    server.addChannel(caller.name)
    server.callers[caller.name] = caller
    server.hangupChannel(caller.name)
    assert caller.hungUp and caller.name not in server.channels
    assert configText(5038) == ("[AMI]\nserver = 127.0.0.1\nport = 5038\nusername = starpy\n"
                                "secret = starpy-secret\n")


def test_fakeIsListedInTheHelp(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "fake" in capsys.readouterr().out


# -- the calls of --calls, in memory: README "Try it without Asterisk" -------------------------


class _MemoryPort:
    """What :meth:`InMemoryNetwork.listenTCP` returns."""

    def __init__(self, network: "InMemoryNetwork", number: int, factory: ServerFactory) -> None:
        self.network = network
        self.number = number
        self.factory = factory

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", self.number)

    def stopListening(self) -> None:
        if self.network.listening.pop(self.number, None) is not None:
            self.factory.doStop()  # type: ignore[no-untyped-call]


class _MemoryConnector:
    """What :meth:`InMemoryNetwork.connectTCP` returns; nothing to stop."""

    def stopConnecting(self) -> None:
        pass


class InMemoryNetwork(Clock):
    """A reactor for ``starpy fake`` without sockets nor real time: time is
    this ``Clock``; ``listenTCP`` and ``connectTCP`` join the two sides with a
    :class:`MemoryConnection <starpy.testing.memory.MemoryConnection>` (on
    127.0.0.1, port 0 meaning a fresh number).  Nothing moves until
    :meth:`runFor`."""

    def __init__(self) -> None:
        super().__init__()
        self.listening: Dict[int, ServerFactory] = {}
        self.connections: List[MemoryConnection] = []
        self._freePort = 40000

    def listenTCP(self, port: int, factory: ServerFactory, backlog: int = 50,
                  interface: str = "") -> _MemoryPort:
        if port == 0:
            self._freePort += 1
            port = self._freePort
        assert port not in self.listening, port
        factory.doStart()  # type: ignore[no-untyped-call]
        self.listening[port] = factory
        return _MemoryPort(self, port, factory)

    def connectTCP(self, host: str, port: int, factory: ClientFactory, timeout: float = 30.0,
                   bindAddress: Optional[Tuple[str, int]] = None) -> _MemoryConnector:
        connector = _MemoryConnector()
        self.callLater(0, self._connect, host, port, factory, connector)
        return connector

    def _connect(self, host: str, port: int, factory: ClientFactory,
                 connector: _MemoryConnector) -> None:
        from twisted.internet.error import ConnectionRefusedError
        from twisted.python.failure import Failure

        serverFactory = self.listening.get(port)
        if host != "127.0.0.1" or serverFactory is None:
            refused = ConnectionRefusedError()  # type: ignore[no-untyped-call]
            factory.clientConnectionFailed(connector, Failure(refused))  # type: ignore[arg-type]
            return
        clientAddress = nextClientAddress()
        serverAddress = IPv4Address("TCP", host, port)
        server = serverFactory.buildProtocol(clientAddress)
        client = factory.buildProtocol(serverAddress)
        assert server is not None and client is not None
        self.connections.append(
            MemoryConnection(server, client, clientAddress, serverAddress, clock=self))

    def deliver(self) -> None:
        """Deliver every byte written, on every connection, until all are quiet."""
        while any([c.flush() for c in self.connections if not c.closed]):
            pass

    def runFor(self, seconds: float) -> None:
        """Let *seconds* pass, delivering the bytes after every timed call."""
        target = self.seconds() + seconds
        self.deliver()
        while True:
            due = [c.getTime() for c in self.getDelayedCalls() if c.getTime() <= target]
            if not due:
                break
            self.advance(max(0.0, min(due) - self.seconds()))
            self.deliver()
        self.advance(max(0.0, target - self.seconds()))
        self.deliver()


class Served:
    """What the FastAGI handler saw of each call (its times relative to the call's start)."""

    def __init__(self, network: InMemoryNetwork) -> None:
        self.network = network
        self.calls: List[Dict[str, Any]] = []

    async def handler(self, agi: Any) -> None:
        start = self.network.seconds()
        call: Dict[str, Any] = {"start": start, "script": agi.scriptPath,
                                "variables": dict(agi.variables), "digits": []}
        self.calls.append(call)
        await agi.answer()
        call["callerid"] = await agi.getVariable("CALLERID(num)")
        await agi.setVariable("GREETED", call["callerid"])
        try:
            while True:
                code = await agi.waitForDigit(-1)
                call["digits"].append((self.network.seconds() - start, digitChar(code)))
        except AGICommandFailure as e:
            call["ended"] = (self.network.seconds() - start, e.text)


def _startFake(argv: List[str]) -> Tuple[InMemoryNetwork, Served, "Deferred[int]", io.StringIO,
                                         io.StringIO, int]:
    """``starpy fake ARGV --ami-port 0`` on an :class:`InMemoryNetwork`, with a
    FastAGI server at 127.0.0.1:4573 (the default of ``--fastagi``)."""
    network = InMemoryNetwork()
    served = Served(network)
    network.listenTCP(4573, FastAGIFactory(served.handler, clock=network), interface="127.0.0.1")
    out, err = io.StringIO(), io.StringIO()
    done = cli.runCommand(["fake", "--ami-port", "0", *argv], network, out, err)
    port = int(out.getvalue().splitlines()[0].rsplit(":", 1)[1])
    return network, served, done, out, err, port


def _amiLogin(network: InMemoryNetwork, port: int) -> Tuple[AMIFactory, AMIProtocol,
                                                            List[Tuple[float, Dict[str, str]]]]:
    """Log in to the fake's AMI port as the printed starpy.conf says; returns the
    factory, the protocol and the list that each ``Newchannel`` and ``Hangup``
    event joins, with its time."""
    factory = AMIFactory("starpy", "starpy-secret", reactor=network)
    loggedIn: List[AMIProtocol] = []
    factory.login(endpoint=TCP4ClientEndpoint(network, "127.0.0.1", port)).addCallback(
        loggedIn.append)
    network.runFor(0)
    (ami,) = loggedIn
    factory.stopTrying()  # no reconnecting once the fake is gone
    events: List[Tuple[float, Dict[str, str]]] = []
    for name in ("Newchannel", "Hangup"):
        ami.registerEvent(name, lambda _, event: events.append((network.seconds(), dict(event))))
    return factory, ami, events


def _result(network: InMemoryNetwork, deferred: "Deferred[Any]") -> Any:
    """Run the network until *deferred* has fired; its result."""
    results: List[Any] = []
    deferred.addBoth(results.append)
    network.runFor(0)
    (result,) = results
    return result


def _channels(network: InMemoryNetwork, ami: AMIProtocol) -> List[Dict[str, str]]:
    """``CoreShowChannels``: one dict per channel listed."""
    reply = _result(network, ami.coreShowChannels())
    assert reply.complete["event"] == "CoreShowChannelsComplete"
    return [dict(item) for item in reply.events]


def _summary(number: int, waits: int, ending: str) -> str:
    """The line of call *number* of :class:`Served`, which waited *waits* times for a digit."""
    names = ["ANSWER", "GET VARIABLE", "SET VARIABLE"] + ["WAIT FOR DIGIT"] * waits
    return ("starpy fake: call %d on PJSIP/caller-%08x: %d commands (%s); %s; AGISTATUS=HANGUP"
            % (number, number, len(names), ", ".join(names), ending))


def test_fakeCallsReachTheServerAsTheOptionsSay() -> None:
    """README: --script, --exten, --context, --callerid reach the channel;
    --dtmf digits come one a second, the first 2 s after the call connects;
    --hangup-after hangs the caller up (the call's line says so); each call
    is a channel of the fake AMI server (Newchannel, CoreShowChannels,
    Getvar, Hangup); with --for the AMI server stays up after the calls."""
    network, served, done, out, err, port = _startFake([
        "--calls", "2", "--script", "/ivr/main", "--exten", "123", "--context", "inbound",
        "--callerid", "555", "--dtmf", "12", "--hangup-after", "10", "--for", "60"])
    factory, ami, events = _amiLogin(network, port)
    request = "agi://127.0.0.1:4573/ivr/main"

    network.runFor(1)                             # t=1: call 1 waits for a digit
    (listed,) = _channels(network, ami)
    assert {key: listed[key] for key in ("channel", "context", "exten", "calleridnum",
                                          "application", "applicationdata")} == {
        "channel": "PJSIP/caller-00000001", "context": "inbound", "exten": "123",
        "calleridnum": "555", "application": "AGI", "applicationdata": request}
    assert _result(network, ami.getVar("PJSIP/caller-00000001", "GREETED")) == "555"

    network.runFor(11)                            # t=12: call 1 ended at 10, call 2 runs
    assert [row["channel"] for row in _channels(network, ami)] == ["PJSIP/caller-00000002"]
    assert _result(network, ami.getVar("PJSIP/caller-00000002", "GREETED")) == "555"
    network.runFor(9)                             # t=21: call 2 ended at 20
    assert [call["start"] for call in served.calls] == [0.0, 10.0]
    for call in served.calls:
        assert call["script"] == "ivr/main"
        variables = call["variables"]
        assert {key: variables[key] for key in ("agi_request", "agi_network_script",
                                                "agi_extension", "agi_context",
                                                "agi_callerid")} == {
            "agi_request": request, "agi_network_script": "ivr/main", "agi_extension": "123",
            "agi_context": "inbound", "agi_callerid": "555"}
        assert call["callerid"] == "555"
        assert call["digits"] == [(2.0, "1"), (3.0, "2")]
        assert call["ended"] == (10.0, "200 result=-1")      # the caller hung up at --hangup-after
    # The Newchannel of call 1 went out before anyone could log in; call 2's is seen.
    assert [(when, event["event"], event["channel"]) for when, event in events] == [
        (10.0, "Hangup", "PJSIP/caller-00000001"), (10.0, "Newchannel", "PJSIP/caller-00000002"),
        (20.0, "Hangup", "PJSIP/caller-00000002")]
    newchannel = events[1][1]
    assert (newchannel["exten"], newchannel["context"], newchannel["calleridnum"]) == (
        "123", "inbound", "555")
    assert out.getvalue().splitlines()[7:] == [_summary(1, 3, "the caller hung up"),
                                              _summary(2, 3, "the caller hung up")]
    assert err.getvalue() == ""

    # --for 60: the calls are over, the AMI server is still up until t=60.
    assert not done.called
    assert _result(network, ami.ping())["ping"] == "Pong"
    assert _channels(network, ami) == []
    network.runFor(60 - network.seconds() - 0.5)
    assert not done.called
    network.runFor(0.5)
    assert _result(network, done) == cli.EXIT_OK
    assert list(network.listening) == [4573]      # the AMI port is closed
    assert network.getDelayedCalls() == []


def test_fakeCallsEndOnAnAmiHangupAndTheirHangupEventsArrive() -> None:
    """README: an AMI Hangup hangs the caller up; without --for the fake stops
    after the last call, and the Hangup event of that call still reaches the
    AMI client (the sessions are closed, not dropped)."""
    network, served, done, out, err, port = _startFake(["--calls", "2", "--hangup-after", "10"])
    factory, ami, events = _amiLogin(network, port)
    network.runFor(1)
    reply = _result(network, ami.hangup("PJSIP/caller-00000001"))
    assert reply["message"] == "Channel Hungup"
    network.runFor(0)
    assert served.calls[0]["ended"] == (1.0, "200 result=-1")
    network.runFor(10)                            # t=11: call 2, from t=1, ended at 11
    assert _result(network, done) == cli.EXIT_OK
    assert [(when, event["event"], event["channel"]) for when, event in events] == [
        (1.0, "Hangup", "PJSIP/caller-00000001"), (1.0, "Newchannel", "PJSIP/caller-00000002"),
        (11.0, "Hangup", "PJSIP/caller-00000002")]
    assert out.getvalue().splitlines()[7:] == [
        _summary(1, 1, "an AMI Hangup hung the caller up"), _summary(2, 1, "the caller hung up")]
    assert err.getvalue() == ""
    assert all(connection.closed for connection in network.connections)
    assert network.getDelayedCalls() == []


def test_fakeDropsAnAmiSessionThatDoesNotCloseInTime() -> None:
    """At the end the fake closes its AMI sessions cleanly, but waits at most
    CLOSE_TIMEOUT seconds for them: then it drops those still open."""
    from starpy.cli.fake import CLOSE_TIMEOUT, FakeAsterisk
    from starpy.testing.ami import connectInMemory
    from starpy.testing.memory import RecordingPeer

    network, served, done, out, err, port = _startFake(["--for", "5"])
    server = network.listening[port]
    assert isinstance(server, FakeAsterisk)
    stuck = connectInMemory(server, RecordingPeer())  # bytes move only on its flush()
    assert len(server.sessions) == 1
    network.runFor(5)
    assert not done.called and not stuck.closed   # closing: the peer has not read yet
    network.runFor(CLOSE_TIMEOUT)
    assert _result(network, done) == cli.EXIT_OK
    stuck.flush()
    assert stuck.closed and stuck.serverTransport.aborted
    assert network.getDelayedCalls() == []
