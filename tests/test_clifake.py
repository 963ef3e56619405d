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
from typing import Callable, Iterator, List, Optional, Tuple

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.interfaces import IDelayedCall

from starpy import cli

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
