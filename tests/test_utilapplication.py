"""starpy.utilapplication and starpy.appconfig: starpy.conf, specifiers, call dispatch."""
from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any, List

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet import error as netError
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from starpy import error, fastagi, manager
from starpy.appconfig import OPTIONS, StarpyConfigError, configFiles, loadConfiguration
from starpy.testing.agi import SimulatedChannel, placeCallInMemory, placeCallTCP
from starpy.testing.ami import FakeAMIServerFactory
from starpy.testing.pytest_plugin import LoggedErrors
from starpy.utilapplication import CallWaitTimeout, UtilApplication
from tests.wire import portNumber

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def app(tmp_path: Path, text: str = "", clock: Any = None) -> UtilApplication:
    return UtilApplication(write(tmp_path / "starpy.conf", text), reactor=clock or Clock())


# -- which files, which values ------------------------------------------------------------


def test_defaultsWithoutAnyFile(tmp_path: Path) -> None:
    application = UtilApplication(environ={}, searchPath=[str(tmp_path / "none.conf")])
    assert application.configFiles == []
    ami, agi = application.amiSpecifier, application.agiSpecifier
    assert (ami.username, ami.server, ami.port, ami.timeout, ami.md5, ami.tls) == (
        "", "127.0.0.1", 5038, 5.0, False, False)
    assert (agi.port, agi.interface, agi.context, agi.allowedClients, agi.backlog) == (
        4573, "127.0.0.1", "default", (), 1024)


def test_valuesAreParsed(tmp_path: Path) -> None:
    application = app(tmp_path, """
[AMI]
username = monitor
secret = s3cret
server = pbx.example.com
port = 5039
timeout = 2.5
md5 = yes
keepalive = 20
action_timeout = none

[fastagi]
port = 0
interface = ::1
context = survey
allowed_clients = 10.0.0.5, 192.168.1.0/24 ::1
""")
    ami, agi = application.amiSpecifier, application.agiSpecifier
    assert (ami.username, ami.secret, ami.server, ami.port, ami.timeout, ami.md5) == (
        "monitor", "s3cret", "pbx.example.com", 5039, 2.5, True)
    assert ami.keepalive == 20.0 and ami.actionTimeout is None
    assert "s3cret" not in repr(ami)
    assert (agi.port, agi.interface, agi.context) == (0, "::1", "survey")
    assert agi.allowedClients == ("10.0.0.5", "192.168.1.0/24", "::1")


def test_currentDirectoryOverridesHome(tmp_path: Path) -> None:
    home = write(tmp_path / "home.conf", "[AMI]\nusername = fromhome\nport = 6000\n")
    here = write(tmp_path / "here.conf", "[AMI]\nusername = fromhere\n")
    application = UtilApplication(environ={}, searchPath=[home, here])
    assert application.configFiles == [home, here]
    assert application.amiSpecifier.username == "fromhere"
    assert application.amiSpecifier.port == 6000
    assert application.config.origins[("AMI", "port")] == home


def test_environmentVariableAndExplicitPath(tmp_path: Path) -> None:
    env = write(tmp_path / "env.conf", "[AMI]\nusername = fromenv\n")
    explicit = write(tmp_path / "explicit.conf", "[AMI]\nusername = explicit\n")
    here = write(tmp_path / "here.conf", "[AMI]\nusername = fromhere\n")
    fromEnv = UtilApplication(environ={"STARPY_CONF": env}, searchPath=[here])
    assert fromEnv.amiSpecifier.username == "fromenv"
    assert fromEnv.configFiles == [env]
    chosen = UtilApplication(explicit, environ={"STARPY_CONF": env}, searchPath=[here])
    assert chosen.amiSpecifier.username == "explicit"


def test_searchPathExpandsHome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    files, required = configFiles(environ={})
    assert files == [str(tmp_path / ".starpy.conf"), str(tmp_path / "starpy.conf")]
    assert required is False
    write(tmp_path / "starpy.conf", "[FastAGI]\nport = 4600\n")
    assert UtilApplication(environ={}).agiSpecifier.port == 4600


def test_missingExplicitFileIsAnError(tmp_path: Path) -> None:
    with pytest.raises(StarpyConfigError) as info:
        UtilApplication(str(tmp_path / "nope.conf"))
    assert str(info.value) == "%s: no such file" % (tmp_path / "nope.conf",)
    with pytest.raises(StarpyConfigError):
        UtilApplication(environ={"STARPY_CONF": str(tmp_path / "gone.conf")})


def test_everyProblemIsReportedWithFileSectionAndKey(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.conf", """
[AMI]
username = x
port = fifty
md5 = perhaps
colour = blue

[FastAGI]
allowed_clients = 10.0.0.5, not-an-address
timeout = 3

[Other]
a = b
""")
    config = loadConfiguration(path)
    described = [problem.describe() for problem in config.problems]
    assert described == [
        "%s: [AMI] port: expected a port number (0-65535), got 'fifty'" % path,
        "%s: [AMI] md5: expected yes or no, got 'perhaps'" % path,
        "%s: [AMI] colour: unknown key (known in [AMI]: %s)" % (
            path, ", ".join(o.key for o in OPTIONS if o.section == "AMI")),
        "%s: [FastAGI] allowed_clients: 'not-an-address' is not an address or network "
        "such as 10.0.0.5 or 192.168.1.0/24" % path,
        "%s: [FastAGI] timeout: unknown key (known in [FastAGI]: port, interface, context, "
        "allowed_clients, backlog)" % path,
        "%s: [Other]: unknown section (known: AMI, FastAGI)" % path,
    ]
    with pytest.raises(StarpyConfigError) as info:
        UtilApplication(path)
    assert len(info.value.problems) == 6
    assert str(info.value) == described[0] + " (and 5 more problems)"
    assert isinstance(info.value, error.ConfigError)


def test_syntaxErrorsAndDefaultSection(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.conf", "username = x\n")
    (problem,) = loadConfiguration(broken).problems
    assert problem.describe() == (
        "%s:1: 'username = x' comes before any [section] (expected [AMI] or [FastAGI] first)"
        % broken)
    duplicate = write(tmp_path / "dup.conf", "[AMI]\nport = 1\nport = 2\n")
    (problem,) = loadConfiguration(duplicate).problems
    assert problem.describe() == "%s:3: [AMI] port: key given twice in the section" % duplicate
    twice = write(tmp_path / "twice.conf", "[AMI]\n[FastAGI]\n[AMI]\n")
    (problem,) = loadConfiguration(twice).problems
    assert problem.describe() == "%s:3: [AMI]: section given twice" % twice
    default = write(tmp_path / "default.conf", "[DEFAULT]\nport = 1\n")
    (problem,) = loadConfiguration(default).problems
    assert problem.describe().endswith("[DEFAULT]: unknown section (known: AMI, FastAGI)")


@pytest.mark.parametrize("section,key,value,message", [
    ("AMI", "port", "70000", "expected a port number (0-65535), got '70000'"),
    ("AMI", "timeout", "-1", "expected a positive number of seconds, got '-1'"),
    ("AMI", "timeout", "nan", "expected a positive number of seconds, got 'nan'"),
    ("AMI", "server", "", "must not be empty"),
    ("FastAGI", "interface", "localhost", "expected an IP address to listen on"),
    ("FastAGI", "backlog", "0", "expected a number of 1 or more, got '0'"),
])
def test_badValues(tmp_path: Path, section: str, key: str, value: str, message: str) -> None:
    path = write(tmp_path / "s.conf", "[%s]\n%s = %s\n" % (section, key, value))
    (problem,) = loadConfiguration(path).problems
    assert (problem.file, problem.section, problem.key) == (path, section, key)
    assert problem.message.startswith(message)


def test_exampleFileDocumentsEveryKeyWithItsDefault() -> None:
    text = (ROOT / "starpy.conf.example").read_text()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    for option in OPTIONS:
        assert parser.get(option.section, option.key) == option.default, option.key
        assert re.search(r"^; .*\n%s =" % re.escape(option.key), text, re.M), option.key
    assert sum(len(parser.options(s)) for s in parser.sections()) == len(OPTIONS)
    assert loadConfiguration(str(ROOT / "starpy.conf.example")).problems == []


def test_readmeStarpyConfBlockYieldsTheDocumentedValues(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## UtilApplication and starpy.conf"):]
    block = re.search(r"```ini\n(.*?)```", section, re.S)
    assert block is not None
    path = write(tmp_path / "starpy.conf", block.group(1))
    config = loadConfiguration(path)
    assert config.problems == []
    assert config.section("AMI") == {
        "username": "starpy", "secret": "starpy-secret", "server": "127.0.0.1",
        "port": 5038, "timeout": 5.0, "actionTimeout": 30.0, "md5": False, "tls": False,
        "tlsCA": "", "tlsCertificate": "", "tlsKey": "", "keepalive": None}
    assert config.section("FastAGI") == {
        "port": 4573, "interface": "127.0.0.1", "context": "default",
        "allowedClients": (), "backlog": 1024}


@pytest.mark.parametrize("line, value", [
    ("username = starpy        ; required to use the AMI", "starpy"),
    ("username = starpy\t; a tab before the comment", "starpy"),
    ("username =        ; nothing but a comment", ""),
    ("username = ; nothing but a comment", ""),
    ("username = pa;ss", "pa;ss"),
    ("username = a \\; b", "a ; b"),
    ("username = a\\;b ; comment", "a;b"),
    ("username = C:\\temp\\x", "C:\\temp\\x"),
    ("username = x # not a comment", "x # not a comment"),
])
def test_inlineComments(tmp_path: Path, line: str, value: str) -> None:
    config = loadConfiguration(write(tmp_path / "s.conf", "[AMI]\n%s\n" % (line,)))
    assert config.problems == []
    assert config.get("AMI", "username") == value


def test_inlineCommentNeverBecomesABadValue(tmp_path: Path) -> None:
    config = loadConfiguration(write(tmp_path / "s.conf",
                                     "[AMI]\nport = 5038   ; the AMI port\n"
                                     "md5 = yes ; challenge login\n"))
    assert config.problems == []
    assert (config.get("AMI", "port"), config.get("AMI", "md5")) == (5038, True)


# -- AMISpecifier --------------------------------------------------------------------


def test_tlsEndpointDescription(tmp_path: Path) -> None:
    application = app(tmp_path, "[AMI]\nusername = u\nserver = pbx\nport = 5039\ntls = yes\n"
                      "tls_ca = /etc/ca:dir\ntls_certificate = /c.pem\n")
    assert application.amiSpecifier.endpointDescription() == (
        "tls:host=pbx:port=5039:timeout=5:trustRoots=/etc/ca\\:dir:certificate=/c.pem"
        ":privateKey=/c.pem")
    assert app(tmp_path, "[AMI]\nusername = u\n").amiSpecifier.endpointDescription() is None


def test_factoryCarriesTheSettings(tmp_path: Path) -> None:
    clock = Clock()
    application = app(tmp_path, "[AMI]\nusername = u\nsecret = s\nmd5 = yes\n"
                      "action_timeout = 7\nkeepalive = 9\n", clock)
    factory = application.amiSpecifier.factory(events=False)
    assert (factory.username, factory.secret, factory.md5, factory.timeout,
            factory.keepalive, factory.events, factory.reactor) == (
        "u", "s", True, 7.0, 9.0, False, clock)


def test_loginWithoutUsernameFailsClearly(tmp_path: Path) -> None:
    failures: List[Failure] = []
    app(tmp_path).amiSpecifier.login().addErrback(failures.append)
    assert str(failures[0].value) == "[AMI] username: not set: add it to starpy.conf to use the AMI"


@pytest_twisted.ensureDeferred
async def test_loginAgainstTheFakeAsterisk(tmp_path: Path) -> None:
    server = FakeAMIServerFactory(clock=reactor)
    port = server.listen(0, reactor=reactor)
    try:
        application = UtilApplication(write(tmp_path / "s.conf", (
            "[AMI]\nusername = starpy\nsecret = starpy-secret\nmd5 = yes\nport = %d\n"
            % portNumber(port))), reactor=reactor)
        ami = await application.amiSpecifier.login()
        assert isinstance(ami, manager.AMIProtocol) and ami.loggedIn
        assert [m["action"] for m in server.received][:2] == ["Challenge", "Login"]
        await ami.logoff()
    finally:
        await server.stopListening()


@pytest_twisted.ensureDeferred
async def test_loginRefusedAndUnreachable(tmp_path: Path) -> None:
    server = FakeAMIServerFactory(clock=reactor)
    server.authFailureDelay = 0.0
    port = server.listen(0, reactor=reactor)
    number = portNumber(port)
    try:
        application = UtilApplication(write(tmp_path / "s.conf", (
            "[AMI]\nusername = starpy\nsecret = wrong\nport = %d\n" % number)), reactor=reactor)
        with pytest.raises(error.AMIAuthenticationError):
            await application.amiSpecifier.login()
    finally:
        await server.stopListening()
    with pytest.raises(netError.ConnectError):
        await application.amiSpecifier.login()


# -- AGISpecifier -----------------------------------------------------------------------


def test_agiFactoryAllowlist(tmp_path: Path) -> None:
    spec = app(tmp_path, "[FastAGI]\nallowed_clients = 10.0.0.0/8\n").agiSpecifier
    factory = spec.factory(lambda agi: None)
    assert factory.isAllowed(type("A", (), {"host": "10.1.2.3"})())
    assert not factory.isAllowed(type("A", (), {"host": "127.0.0.1"})())
    assert app(tmp_path).agiSpecifier.factory(lambda agi: None).allowedClients is None


@pytest_twisted.ensureDeferred
async def test_runListensAndDispatchesOverTcp(tmp_path: Path) -> None:
    application = UtilApplication(write(tmp_path / "s.conf", "[FastAGI]\nport = 0\n"),
                                  reactor=reactor)
    seen: List[str] = []

    async def onS(agi: Any) -> None:
        seen.append(agi.variables["agi_extension"])
        await agi.setVariable("HANDLED", "yes")

    application.handleCallsFor("s", onS)
    port = await application.agiSpecifier.run(application.dispatchIncomingCall)
    try:
        channel = SimulatedChannel(request="agi://127.0.0.1/x", extension="s")
        await placeCallTCP(reactor, "127.0.0.1", portNumber(port), channel)
    finally:
        await defer.maybeDeferred(port.stopListening)
    assert seen == ["s"] and channel.variables["HANDLED"] == "yes"


# -- dispatch -----------------------------------------------------------------------------


def call(application: UtilApplication, clock: Clock, **channelArgs: Any) -> Any:
    channel = SimulatedChannel(**channelArgs)
    factory = fastagi.FastAGIFactory(application.dispatchIncomingCall, clock=clock)
    inMemory = placeCallInMemory(factory, channel, clock)
    inMemory.flush()
    return inMemory


def tagging(name: str, log: List[str]) -> Any:
    async def handler(agi: Any) -> None:
        log.append(name)
        await agi.setVariable("BY", name)
    return handler


def test_dispatchOrder(tmp_path: Path) -> None:
    clock = Clock()
    application = app(tmp_path, clock=clock)
    log: List[str] = []
    application.handleCallsFor(None, tagging("default", log))
    application.handleCallsFor("100", tagging("ext100", log))
    # A number works, as documented (the annotation takes int too).
    application.handleCallsFor(200, tagging("ext200-sales", log), context="sales")
    application.handleCallsFor(None, tagging("sales-default", log), context="sales")
    application.handleScript("/hello/", tagging("script-hello", log))
    cases = [
        (dict(extension="100"), "ext100"),
        (dict(extension="100", context="sales"), "ext100"),
        (dict(extension="200", context="sales"), "ext200-sales"),
        (dict(extension="200"), "default"),
        (dict(extension="300", context="sales"), "sales-default"),
        (dict(extension="100", request="agi://127.0.0.1/hello?x=1"), "script-hello"),
        (dict(extension="9"), "default"),
    ]
    for channelArgs, expected in cases:
        inMemory = call(application, clock, **channelArgs)
        assert inMemory.runUntilFinished().agiStatus == "SUCCESS"
        assert log[-1] == expected, channelArgs
    assert len(log) == len(cases)
    assert clock.getDelayedCalls() == []


def test_unroutedCallIsLoggedAndFinished(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    application = app(tmp_path, clock=clock)
    application.handleCallsFor("100", tagging("ext100", []))
    inMemory = call(application, clock, extension="555", name="PJSIP/x-1")
    assert inMemory.finished
    assert inMemory.transcript.commands() == []
    assert "no handler for the call on PJSIP/x-1 to extension '555'" in caplog.text


def test_removingARegistration(tmp_path: Path) -> None:
    clock = Clock()
    application = app(tmp_path, clock=clock)
    log: List[str] = []
    remove = application.handleCallsFor("100", tagging("a", log))
    removeScript = application.handleScript("x", tagging("s", log))
    remove()
    removeScript()
    assert call(application, clock, extension="100", request="agi://h/x").finished
    assert log == []


def test_waiterGetsTheNextCallOnce(tmp_path: Path) -> None:
    clock = Clock()
    application = app(tmp_path, clock=clock)
    log: List[str] = []
    application.handleCallsFor("100", tagging("handler", log))
    got: List[Any] = []
    application.waitForCallOn(100, timeout=15).addCallback(got.append)
    first = call(application, clock, extension="100")
    assert len(got) == 1 and got[0].variables["agi_extension"] == "100"
    assert not first.finished            # the waiter drives the session
    got[0].finish()
    first.flush()
    assert first.finished and log == []
    second = call(application, clock, extension="100")
    second.runUntilFinished()
    assert log == ["handler"] and len(got) == 1
    assert clock.getDelayedCalls() == []


def test_waitersAreServedInOrderAndByContext(tmp_path: Path) -> None:
    clock = Clock()
    application = app(tmp_path, clock=clock)
    order: List[str] = []

    def serve(agi: fastagi.FastAGIProtocol, name: str) -> None:
        order.append(name)
        agi.finish()

    application.waitForCallOn("7").addCallback(serve, "first")
    application.waitForCallOn("7").addCallback(serve, "second")
    application.waitForCallOn("7", context="vip").addCallback(serve, "vip")
    for context in ("default", "vip", "default"):
        assert call(application, clock, extension="7", context=context).finished
    assert order == ["first", "vip", "second"]


def test_waiterTimesOutOnTheClock(tmp_path: Path) -> None:
    clock = Clock()
    application = app(tmp_path, clock=clock)
    failures: List[Failure] = []
    application.waitForCallOn("100", timeout=15).addErrback(failures.append)
    clock.advance(14.9)
    assert failures == []
    clock.advance(0.1)
    (failure,) = failures
    assert failure.check(CallWaitTimeout, defer.TimeoutError)
    assert str(failure.value) == "no call on extension '100' within 15 s"
    log: List[str] = []
    application.handleCallsFor("100", tagging("handler", log))
    call(application, clock, extension="100").runUntilFinished()
    assert log == ["handler"]             # the timed-out waiter is gone


def test_cancelledWaiterIsForgotten(tmp_path: Path) -> None:
    clock = Clock()
    application = app(tmp_path, clock=clock)
    d = application.waitForCallOn("100")
    d.addErrback(lambda f: f.trap(defer.CancelledError))
    d.cancel()
    assert clock.getDelayedCalls() == []
    assert call(application, clock, extension="100").finished   # unrouted, finished


def test_failingHandlerIsLoggedAndTheCallFinished(
        tmp_path: Path, loggedErrors: LoggedErrors) -> None:
    clock = Clock()
    application = app(tmp_path, clock=clock)

    def broken(agi: Any) -> None:
        raise RuntimeError("handler broke")

    application.handleCallsFor(None, broken)
    assert call(application, clock, extension="1").finished
    [logged] = loggedErrors.flush(match="RuntimeError: handler broke")
    assert logged.message.startswith("AGI handler failed on ")
