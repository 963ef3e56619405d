"""starpy.metrics: Prometheus numbers after scripted traffic, scraped over
HTTP; nothing imported without the extra; slow and failing handlers."""
from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from starpy import dispatch, error, manager, metrics
from starpy.codec.ami import Message
from starpy.fastagi import FastAGIFactory
from starpy.testing.agi import SimulatedChannel, placeCallInMemory
from starpy.testing.ami import FakeAMIServerFactory
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failure, result
from tests.test_pool import Fleet
from tests.wire import portNumber

ROOT = Path(__file__).resolve().parent.parent


def value(numbers: metrics.StarpyMetrics, name: str, **labels: str) -> float:
    found = numbers.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


# -- nothing without the extra ------------------------------------------------------------


def test_nothingImportsPrometheusClientUnlessAsked() -> None:
    code = (
        "import sys\n"
        "import starpy, starpy.manager, starpy.pool, starpy.fastagi, starpy.asyncagi\n"
        "import starpy.cli, starpy.cli.ami, starpy.cli.serve, starpy.dispatch\n"
        "starpy.cli._buildParser().parse_args(['events', '--json'])\n"
        "starpy.cli._buildParser().parse_args(['serve', 'x:y'])\n"
        "print(sorted(m for m in sys.modules if 'prometheus' in m or m == 'starpy.metrics'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_metricsOptionWithoutTheExtraIsAUsageError(tmp_path: Path) -> None:
    conf = tmp_path / "starpy.conf"
    conf.write_text("[AMI]\nusername = starpy\nsecret = s\nport = 1\n")
    code = ("import sys\n"
            "sys.modules['prometheus_client'] = None  # as if the extra were missing\n"
            "from starpy import cli\n"
            "sys.exit(cli.main(sys.argv[1:]))\n")
    for command in (["events", "-c", str(conf), "--metrics", "127.0.0.1:0"],
                    ["serve", "-c", str(conf), "--metrics", "127.0.0.1:0", "x:y"]):
        done = subprocess.run([sys.executable, "-c", code] + command, capture_output=True,
                              text=True, timeout=120, cwd=str(tmp_path))
        assert done.returncode == 2, done.stderr
        assert "--metrics needs StarPy's metrics extra (pip install 'starpy[metrics]')" \
            in done.stderr
        assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("text", ["9108", "127.0.0.1", "127.0.0.1:x", ":9108",
                                  "127.0.0.1:70000"])
def test_metricsAddressMustBeHostAndPort(text: str) -> None:
    with pytest.raises(ValueError, match="is not HOST:PORT"):
        metrics.parseAddress(text)
    assert metrics.parseAddress("[::1]:9108") == ("::1", 9108)
    assert metrics.parseAddress("127.0.0.1:0") == ("127.0.0.1", 0)


def test_serveRefusesMetricsWithWorkers(tmp_path: Path) -> None:
    from starpy import cli
    from starpy.cli.ami import CommandError
    from starpy.cli.serve import runServe

    args = cli._buildParser().parse_args(["serve", "--workers", "2", "--metrics",
                                          "127.0.0.1:0", "x:y"])
    with pytest.raises(CommandError, match="without --workers"):
        runServe(None, args, None, None).send(None)  # type: ignore[arg-type]


# -- AMI over a pool, on a Clock -----------------------------------------------------------


def test_poolNumbersAfterScriptedTraffic(loggedErrors: LoggedErrors) -> None:
    fleet = Fleet()
    ticks = iter(range(1000))
    numbers = metrics.StarpyMetrics(timer=lambda: float(next(ticks)),
                                    slowHandlerThreshold=None)
    fleet.add("pbx1")
    numbers.watchPool(fleet.pool)
    fleet.add("pbx2", secret="wrong")  # added after: watched too
    fleet.pool.startService()
    fleet.pump()
    fleet.advance(1.0)  # pbx2 refused
    assert value(numbers, "starpy_ami_logins_failed_total", server="pbx2") == 1
    loggedErrors.flush(match="AMI login failed, will retry")
    assert value(numbers, "starpy_ami_server_state", server="pbx1", state="loggedIn") == 1
    assert value(numbers, "starpy_ami_server_state", server="pbx1", state="booting") == 0
    assert value(numbers, "starpy_ami_server_state", server="pbx2", state="down") == 1
    server = fleet.servers["pbx1"]
    for uniqueid in ("1.1", "1.2"):
        server.emitEvent("Hangup", privilege="call,all", Uniqueid=uniqueid)
    fleet.pump()
    assert value(numbers, "starpy_ami_events_received_total", server="pbx1",
                 event="Hangup") == 2
    assert value(numbers, "starpy_ami_events_received_total", server="pbx1",
                 event="FullyBooted") == 1
    ping = fleet.pool.sendAction("pbx1", "Ping")
    fleet.pump()
    result(ping)
    refused = fleet.pool.call("pbx1", lambda ami: ami.hangup("PJSIP/nobody"))
    fleet.pump()
    assert failure(refused).check(error.AMICommandFailure)
    server.script("CoreStatus", lambda session, action: defer.Deferred())  # never answered
    late = fleet.pool.sendAction("pbx1", "CoreStatus", timeout=5.0)
    fleet.advance(5.0)
    assert failure(late).check(error.AMITimeout)
    assert value(numbers, "starpy_ami_actions_sent_total", server="pbx1", action="Ping") == 1
    assert value(numbers, "starpy_ami_actions_failed_total", server="pbx1", action="Hangup") == 1
    assert value(numbers, "starpy_ami_actions_timed_out_total", server="pbx1",
                 action="CoreStatus") == 1
    assert value(numbers, "starpy_ami_actions_failed_total", server="pbx1",
                 action="CoreStatus") == 0
    assert value(numbers, "starpy_ami_action_latency_seconds_count", action="Ping") == 1
    assert value(numbers, "starpy_ami_action_latency_seconds_sum", action="Ping") == 1.0
    server.dropAll()  # a reconnection
    fleet.pump()
    fleet.advance(1.0)
    loggedErrors.flush(match="AMI login failed, will retry")
    assert value(numbers, "starpy_ami_reconnects_total", server="pbx1") == 1
    assert value(numbers, "starpy_ami_server_state", server="pbx1", state="loggedIn") == 1
    again = fleet.pool.sendAction("pbx1", "Ping")  # the new connection is counted too
    fleet.pump()
    result(again)
    assert value(numbers, "starpy_ami_actions_sent_total", server="pbx1", action="Ping") == 2
    fleet.stop()


def test_labelsChosenByThePeerAreBounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "MAX_LABEL_VALUES", 3)
    numbers = metrics.StarpyMetrics(slowHandlerThreshold=None)
    ami = manager.AMIProtocol(clock=task.Clock())
    numbers.watchProtocol(ami, "pbx")
    for n in range(10):
        ami.dispatcher.dispatch(ami, Message([("Event", "Custom%d" % n)]))
    names = {sample.labels["event"] for family in numbers.registry.collect()
             for sample in family.samples if sample.name == "starpy_ami_events_received_total"}
    assert names == {"Custom0", "Custom1", "Custom2", "other"}
    assert value(numbers, "starpy_ami_events_received_total", server="pbx", event="other") == 7


def test_asyncagiSessionsCountedFromTheEvents() -> None:
    numbers = metrics.StarpyMetrics(slowHandlerThreshold=None)
    ami = manager.AMIProtocol(clock=task.Clock())
    numbers.watchAsyncAGI(ami, "pbx")
    for name in ("AsyncAGIStart", "AsyncAGIStart", "AsyncAGIEnd"):
        ami.dispatcher.dispatch(ami, Message([("Event", name), ("Channel", "PJSIP/1")]))
    assert value(numbers, "starpy_asyncagi_sessions_total", server="pbx") == 2
    assert value(numbers, "starpy_asyncagi_sessions_active", server="pbx") == 1


# -- FastAGI --------------------------------------------------------------------------------


def test_fastagiSessionsAndCommandLatency(loggedErrors: LoggedErrors) -> None:
    clock = task.Clock()
    ticks = iter(range(1000))
    numbers = metrics.StarpyMetrics(timer=lambda: float(next(ticks)))

    async def hello(agi: Any) -> None:
        await agi.answer()
        await agi.streamFile("hello-world")
        await agi.setVariable("DONE", "1")

    def broken(agi: Any) -> None:
        raise RuntimeError("handler bug")

    for handler, script in ((hello, "hello"), (hello, "hello"), (broken, "broken")):
        factory = FastAGIFactory(numbers.instrumentHandler(handler), clock=clock)
        channel = SimulatedChannel(request="agi://127.0.0.1/%s" % script)
        placeCallInMemory(factory, channel, clock).runUntilFinished(60)
    assert len(loggedErrors.flush(match="handler bug")) == 1
    assert value(numbers, "starpy_fastagi_sessions_total", script="hello") == 2
    assert value(numbers, "starpy_fastagi_sessions_total", script="broken") == 1
    assert value(numbers, "starpy_fastagi_sessions_failed_total", script="broken") == 1
    assert value(numbers, "starpy_fastagi_sessions_failed_total", script="hello") == 0
    assert value(numbers, "starpy_fastagi_sessions_active") == 0
    for command in ("ANSWER", "STREAM FILE", "SET VARIABLE"):
        assert value(numbers, "starpy_agi_command_latency_seconds_count", command=command) == 2
    assert metrics.agiCommandName('EXEC Dial "PJSIP/100"') == "EXEC"
    assert metrics.agiCommandName("GET FULL VARIABLE ${X}") == "GET FULL VARIABLE"
    assert metrics.agiCommandName("MADE UP") == "other"


# -- slow and failing handlers ----------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_slowHandlerLoggedOncePerIntervalAndCounted(
        caplog: pytest.LogCaptureFixture) -> None:
    timer, clock = FakeTime(), FakeTime()
    monitor = dispatch.HandlerMonitor(threshold=0.5, interval=60.0, timer=timer, clock=clock)
    slow: List[Tuple[str, float]] = []
    monitor.onSlow(lambda name, handler, seconds: slow.append((name, seconds)))
    dispatcher = dispatch.EventDispatcher()
    monitor.attach(dispatcher)

    def blocking(protocol: Any, event: Any) -> None:
        timer.now += 2.0  # as if it blocked the reactor 2 s

    def quick(protocol: Any, event: Any) -> None:
        timer.now += 0.25

    dispatcher.register("Hangup", blocking)
    dispatcher.register("Hangup", quick)
    caplog.set_level(logging.WARNING, "starpy.manager")
    for _n in range(3):
        dispatcher.dispatch(None, Message([("Event", "Hangup")]))
    assert slow == [("Hangup", 2.0)] * 3 and monitor.slowCalls == 3
    warnings = [r for r in caplog.records if "blocked the reactor" in r.getMessage()]
    assert len(warnings) == 1 and "blocking" in warnings[0].getMessage()
    clock.now += 60.0
    dispatcher.dispatch(None, Message([("Event", "Hangup")]))
    warnings = [r for r in caplog.records if "blocked the reactor" in r.getMessage()]
    assert len(warnings) == 2
    monitor.detach(dispatcher)
    dispatcher.dispatch(None, Message([("Event", "Hangup")]))
    assert monitor.slowCalls == 4


def test_handlerFailuresCounted(loggedErrors: LoggedErrors) -> None:
    ticks = iter(range(1000))
    numbers = metrics.StarpyMetrics(timer=lambda: float(next(ticks)) * 0.01,
                                    slowHandlerThreshold=1.0)
    ami = manager.AMIProtocol(clock=task.Clock())
    numbers.watchProtocol(ami, "pbx")

    def raising(protocol: Any, event: Any) -> None:
        raise RuntimeError("handler bug")

    failing: defer.Deferred[None] = defer.Deferred()
    ami.registerEvent("Hangup", raising)
    ami.registerEvent("Hangup", lambda protocol, event: failing)
    ami.dispatcher.dispatch(ami, Message([("Event", "Hangup")]))
    failing.errback(ValueError("later"))
    assert len(loggedErrors.flush(RuntimeError)) == 1
    assert len(loggedErrors.flush(match="ValueError: later")) == 1
    assert value(numbers, "starpy_ami_handler_failures_total", event="Hangup") == 2
    assert value(numbers, "starpy_ami_slow_handlers_total", event="Hangup") == 0


def test_dispatchWithoutAMonitorIsUntouched() -> None:
    dispatcher = dispatch.EventDispatcher()
    assert dispatcher.monitor is None
    wrapped: List[str] = []

    class Counting(dispatch.HandlerMonitor):
        def wrap(self, registration: dispatch.Registration,
                 name: str) -> dispatch.Registration:
            wrapped.append(name)
            return super().wrap(registration, name)

    seen: List[str] = []
    registration = dispatcher.register(None, lambda p, e: seen.append(e["event"]))
    assert isinstance(registration, dispatch.Registration)
    dispatcher.dispatch(None, Message([("Event", "A")]))
    # Without a monitor the registrations themselves are dispatched to.
    assert dispatcher.handlersFor("A") == (registration,)
    monitor = Counting()
    monitor.attach(dispatcher)
    with pytest.raises(ValueError, match="already has a monitor"):
        dispatch.HandlerMonitor().attach(dispatcher)
    dispatcher.dispatch(None, Message([("Event", "B")]))
    dispatcher.dispatch(None, Message([("Event", "B")]))
    (standIn,) = dispatcher.handlersFor("B")
    assert standIn is not registration and standIn.active
    assert repr(standIn.handler) == repr(registration.handler)
    monitor.detach(dispatcher)
    dispatcher.dispatch(None, Message([("Event", "C")]))
    assert dispatcher.monitor is None and dispatcher.handlersFor("B") == (registration,)
    # Wrapped once per event name resolved, not per event.
    assert seen == ["A", "B", "B", "C"] and wrapped == ["B"]


def test_monitoredDispatchSkipsRegistrationsCancelledMeanwhile(
        loggedErrors: LoggedErrors) -> None:
    monitor = dispatch.HandlerMonitor()
    failures: List[Tuple[str, Any]] = []
    monitor.onFailure(lambda name, handler: failures.append((name, handler)))
    dispatcher = dispatch.EventDispatcher()
    monitor.attach(dispatcher)
    seen: List[str] = []

    def first(protocol: Any, event: Any) -> None:
        seen.append("first")
        second.cancel()
        raise RuntimeError("first failed")

    def broken(protocol: Any, event: Any) -> None:
        seen.append("second")

    dispatcher.register("Hangup", first)
    second = dispatcher.register("Hangup", broken)
    dispatcher.dispatch(None, Message([("Event", "Hangup")]))
    assert seen == ["first"] and failures == [("Hangup", first)]
    (logged,) = loggedErrors.flush(RuntimeError)
    # The log names the application's handler, not the monitor's stand-in.
    assert logged.message == "AMI event handler %r failed on event Hangup" % (first,)


def test_monitorArgumentsChecked() -> None:
    with pytest.raises(ValueError, match="threshold"):
        dispatch.HandlerMonitor(threshold=-1)
    with pytest.raises(ValueError, match="interval"):
        dispatch.HandlerMonitor(interval=float("inf"))


# -- over HTTP -------------------------------------------------------------------------------


async def scrape(url: str) -> str:
    from twisted.web.client import Agent, readBody

    response = await Agent(reactor).request(b"GET", url.encode())
    assert response.code == 200
    return (await readBody(response)).decode()


@pytest.mark.filterwarnings("ignore:Using readBody:DeprecationWarning")
@pytest_twisted.ensureDeferred
async def test_eventsCommandServesMetricsOverHttp(tmp_path: Path) -> None:
    from starpy import cli
    from tests.test_cli import Streams, amiConf

    server = FakeAMIServerFactory(clock=reactor)
    port = server.listen(0, reactor=reactor)
    amiPort = portNumber(port)
    urls: List[str] = []
    loggedIn: defer.Deferred[None] = defer.Deferred()

    def onErr(text: str) -> None:
        found = re.match(r"# metrics on (\S+)", text)
        if found:
            urls.append(found.group(1))
        if text.startswith("# logged in"):
            loggedIn.callback(None)

    streams = Streams(onErr)
    try:
        running = cli.runCommand(["events", "-c", amiConf(tmp_path, amiPort), "--count", "3",
                                  "--json", "--metrics", "127.0.0.1:0", "Hangup"],
                                 reactor, streams.out, streams.err)
        await loggedIn
        server.emitEvent("Hangup", privilege="call,all", Uniqueid="1.1")
        server.emitEvent("Hangup", privilege="call,all", Uniqueid="1.2")
        server.emitEvent("Newchannel", privilege="call,all", Uniqueid="1.3")
        text = ""
        for _attempt in range(50):  # until the three events have arrived
            text = await scrape(urls[0])
            if 'event="Newchannel"' in text:
                break
        target = "127.0.0.1:%d" % amiPort
        assert ('starpy_ami_events_received_total{event="Hangup",server="%s"} 2.0' % target
                in text), text
        assert ('starpy_ami_events_received_total{event="Newchannel",server="%s"} 1.0'
                % target in text)
        assert "# TYPE starpy_ami_action_latency_seconds histogram" in text
        assert urls[0].endswith("/metrics") and urls[0].startswith("http://127.0.0.1:")
        server.emitEvent("Hangup", privilege="call,all", Uniqueid="1.4")
        assert await running == cli.EXIT_OK, streams.err.getvalue()
        assert len(streams.out.getvalue().splitlines()) == 3
        from twisted.internet.error import ConnectError

        with pytest.raises(ConnectError):  # the command stopped serving them
            await scrape(urls[0])
    finally:
        await server.stopListening()


def test_unwatchingAServiceUnwrapsItsConnection() -> None:
    from tests.test_readiness import setUp, tearDown

    clock, server, endpoint, service, logins = setUp()
    numbers = metrics.StarpyMetrics(slowHandlerThreshold=None)
    handle = numbers.watchService(service, "pbx")
    service.startService()
    endpoint.pump()
    ami = service.protocol
    assert ami is not None and "sendAction" in vars(ami)
    handle.cancel()
    assert "sendAction" not in vars(ami)
    pong = ami.ping()
    endpoint.pump()
    result(pong)
    assert value(numbers, "starpy_ami_actions_sent_total", server="pbx", action="Ping") == 0
    tearDown(clock, endpoint, service)
