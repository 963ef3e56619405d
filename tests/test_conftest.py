"""The harness of tests/conftest.py: a test that logs an error it did not
expect fails; one that takes its expected errors passes.

Each test runs a small test module with the harness in a separate pytest
process (the errors it logs must not reach this test's own watcher).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Tuple

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent

# The module run by the inner pytest: each test does what the harness must catch.
BROKEN = '''
import gc

import pytest
from twisted.internet import defer, task

from starpy import manager
from starpy.testing import ami


def loggedIn():
    clock = task.Clock()
    server = ami.FakeAMIServerFactory(clock=clock)
    client = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    protocol, connection = ami.loginInMemory(server, client)
    return server, protocol, connection


def test_assertInEventHandler():
    server, protocol, connection = loggedIn()

    def onHangup(protocol, event):
        assert event["channel"] == "PJSIP/other", "handler saw " + event["channel"]

    protocol.registerEvent("Hangup", onHangup)
    server.emitEvent("Hangup", Channel="PJSIP/100-00000001", privilege="call,all")
    connection.flush()


def test_unhandledFailedDeferred():
    defer.fail(ValueError("nobody handles me"))


class Holder:
    pass


@pytest.fixture
def noAutomaticCollection():
    gc.disable()
    yield
    gc.enable()


def test_unhandledFailedDeferredInACycle(noAutomaticCollection):
    holder = Holder()
    holder.itself = holder  # only the garbage collector frees it, and its Deferred
    holder.deferred = defer.fail(ValueError("found by the collector"))
    del holder


def test_fakeServerScriptFails():
    server, protocol, connection = loggedIn()

    def script(session, action):
        raise KeyError("script bug")

    server.script("Broken", script)
    protocol.sendAction("Broken", timeout=None)
    connection.flush()


def test_unexpectedBesideExpected(loggedErrors):
    defer.fail(KeyError("expected"))
    defer.fail(ValueError("not expected"))
    assert len(loggedErrors.flush(KeyError)) == 1


@pytest.fixture
def breaksAtTeardown():
    yield
    defer.fail(RuntimeError("fixture teardown bug"))


def test_errorInFixtureTeardown(breaksAtTeardown):
    pass


def test_failsByItself():
    defer.fail(ValueError("logged before the assert"))
    assert 1 == 2
'''

EXPECTING = '''
from twisted.internet import defer, task

from starpy import manager
from starpy.testing import ami


def test_takesTheHandlerFailure(loggedErrors):
    clock = task.Clock()
    server = ami.FakeAMIServerFactory(clock=clock)
    client = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    protocol, connection = ami.loginInMemory(server, client)

    def onHangup(protocol, event):
        assert False, "expected breakage"

    protocol.registerEvent("Hangup", onHangup)
    server.emitEvent("Hangup", Channel="PJSIP/100-00000001", privilege="call,all")
    connection.flush()
    [logged] = loggedErrors.flush(AssertionError)
    assert "expected breakage" in logged.text
    assert logged.origin == "starpy.manager"


def test_takesTheUnhandledDeferred(loggedErrors):
    defer.fail(ValueError("expected"))
    [logged] = loggedErrors.flush(ValueError, match="expected")
    assert "Unhandled error in Deferred" in logged.message


def test_quietTestNeedsNothing():
    assert defer.succeed(1).result == 1
'''


def runInner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
             source: str) -> Tuple[Dict[str, str], str]:
    """Run *source* as a test module under the harness; returns each test's
    outcome and the whole output."""
    pytester.makeconftest((HERE / "conftest.py").read_text())
    pytester.makepyfile(test_inner=source)
    root = str(HERE.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider")
    outcomes: Dict[str, str] = {}
    for line in result.outlines:
        words = line.split()
        if (len(words) >= 2 and words[0] in ("PASSED", "FAILED", "ERROR")
                and words[1].startswith("test_inner.py::")):
            name = words[1].split("::")[-1]
            # A failed test whose teardown also failed is listed twice.
            outcomes[name] = outcomes.get(name, "") + words[0]
    return outcomes, "\n".join(result.outlines)


def test_unexpectedErrorsFailTheTest(pytester: pytest.Pytester,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes, output = runInner(pytester, monkeypatch, BROKEN)
    assert outcomes == {
        "test_assertInEventHandler": "FAILED",
        "test_unhandledFailedDeferred": "FAILED",
        "test_unhandledFailedDeferredInACycle": "FAILED",
        "test_fakeServerScriptFails": "FAILED",
        "test_unexpectedBesideExpected": "FAILED",
        "test_errorInFixtureTeardown": "PASSEDERROR",
        "test_failsByItself": "FAILED",
    }, output
    # The failure shows what was logged, with its traceback.
    for expected in [
        "ERROR starpy.manager: AMI event handler * failed on event Hangup",
        "AssertionError: handler saw PJSIP/100-00000001",
        "Twisted twisted.internet.defer: Unhandled error in Deferred*",
        "*ValueError: nobody handles me",
        "*ValueError: found by the collector",
        "ERROR starpy.testing.ami: fake AMI: script for 'Broken' failed",
        "KeyError: 'script bug'",
        "*unexpected error logged while fixtures were set up or torn down*",
        "*RuntimeError: fixture teardown bug",
        "*logged errors*",
        "*ValueError: logged before the assert",
    ]:
        assert any(_match(line, expected) for line in output.splitlines()), expected
    # The error the test took is not reported; the other one is.
    section = output.split("_ test_unexpectedBesideExpected _", 1)[1].split("Captured", 1)[0]
    assert "ValueError: not expected" in section and "KeyError" not in section


def test_expectedErrorsTakenByTheTestPass(pytester: pytest.Pytester,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes, output = runInner(pytester, monkeypatch, EXPECTING)
    assert outcomes == {
        "test_takesTheHandlerFailure": "PASSED",
        "test_takesTheUnhandledDeferred": "PASSED",
        "test_quietTestNeedsNothing": "PASSED",
    }, output


def _match(line: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(line.strip(), pattern) or fnmatch.fnmatchcase(line, pattern)
