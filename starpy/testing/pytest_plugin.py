"""StarPy's pytest plugin: fixtures for testing an application, and a guard.

Load it in a ``conftest.py``::

    pytest_plugins = ["starpy.testing.pytest_plugin"]

or with ``pytest -p starpy.testing.pytest_plugin``, or by setting
``starpy_plugin = true`` in the pytest configuration (``[tool.pytest.ini_options]``
of ``pyproject.toml``, or ``pytest.ini``).  Installing StarPy registers, through
pytest's ``pytest11`` entry point, only a small module that reads that
setting: nothing of this plugin is loaded, and no test run changes, until a
project asks for it.

The fixtures (each test gets its own):

``starpyClock``
    A ``twisted.internet.task.Clock``: time that moves only when the test
    calls ``advance()``.  Every fake below runs on it.
``fakeAMI``
    A :class:`FakeAMI`: StarPy's fake AMI server
    (:class:`FakeAMIServerFactory <starpy.testing.ami.FakeAMIServerFactory>`, users ``starpy`` /
    ``starpy-secret`` and ``limited``) and ``login()``, which gives an
    :class:`AMIProtocol <starpy.manager.AMIProtocol>` logged into it in memory.
``fakeCall``
    A function placing a call from StarPy's fake Asterisk to an AGI handler
    in memory and playing it out: ``fakeCall(handler, **channelFields)``
    returns a :class:`FakeCallResult` (the
    :class:`SimulatedChannel <starpy.testing.agi.SimulatedChannel>` and its
    :class:`Transcript <starpy.testing.agi.Transcript>`).
``loggedErrors``
    The errors logged so far by this test; see below.

The guard: a test fails when, during it, a ``starpy`` logger logs at ERROR or
above (an event handler that raised, an AGI handler that failed, a fake
Asterisk whose script broke) or Twisted logs a failure ("Unhandled error in
Deferred" included: garbage is collected after each test so that such a
Deferred is blamed on the test that made it).  StarPy logs such failures and
goes on, as an application wants; in a test they would pass unseen.  A test
that *expects* an error takes it, as Trial's ``flushLoggedErrors`` does::

    def test_brokenHandlerIsLogged(loggedErrors):
        ...  # make a handler raise RuntimeError("boom")
        [logged] = loggedErrors.flush(RuntimeError)
        assert "boom" in logged.text

``flush`` takes (and so forgives) only the errors that match, by exception
type and/or by a regular expression on the text; any other still fails the
test.  After each test the objects that outlive it are set aside
(``gc.freeze()``), so that the next test's collection looks at its own
objects only: a full collection of a large heap costs tens of milliseconds.
"""
from __future__ import annotations

import gc
import logging
import re
from typing import Any, Callable, Generator, List, Optional, Type

import attrs
import pytest
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import implementer

__all__ = [
    "FakeAMI",
    "FakeCallResult",
    "LoggedError",
    "LoggedErrors",
    "fakeAMI",
    "fakeCall",
    "loggedErrors",
    "starpyClock",
]


@attrs.define(eq=False)
class LoggedError:
    """One error logged during a test.

    :ivar origin: the logger's name (``starpy.manager``) or the Twisted log
        namespace (``twisted.internet.defer``).
    :ivar message: the log message (without the traceback of ``exc_info``).
    :ivar exception: the exception logged with it (``exc_info`` or the
        Twisted failure), if any.
    :ivar text: message and traceback, as shown when the test fails.
    """

    origin: str
    message: str
    exception: Optional[BaseException]
    text: str


def _fromRecord(record: logging.LogRecord) -> LoggedError:
    message = record.getMessage()
    text = "%s %s: %s" % (record.levelname, record.name, message)
    exception = None
    if record.exc_info and record.exc_info[1] is not None:
        exception = record.exc_info[1]
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return LoggedError(record.name, message, exception, text)


def _fromEvent(event: LogEvent) -> LoggedError:
    failure: Failure = event["log_failure"]
    namespace = event.get("log_namespace", "twisted")
    message = formatEvent(event)
    if namespace == "twisted.internet.defer" and not message.startswith("Unhandled"):
        # Twisted logs "Unhandled error in Deferred:" without the failure,
        # then the failure under a message of debug information only.
        message = ("Unhandled error in Deferred " + message).strip()
    text = "Twisted %s: %s\n%s" % (namespace, message, failure.getTraceback())
    return LoggedError(namespace, message, failure.value, text)


class _Handler(logging.Handler):
    def __init__(self, errors: List[LoggedError]) -> None:
        super().__init__(logging.ERROR)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(_fromRecord(record))


@implementer(ILogObserver)
class _Observer:
    def __init__(self, errors: List[LoggedError]) -> None:
        self.errors = errors

    def __call__(self, event: LogEvent) -> None:
        if event.get("log_failure") is not None:
            self.errors.append(_fromEvent(event))


class LoggedErrors:
    """The errors logged during one test; see the module docstring."""

    def __init__(self) -> None:
        self.errors: List[LoggedError] = []
        self._handler = _Handler(self.errors)
        self._observer = _Observer(self.errors)

    def start(self) -> None:
        logging.getLogger("starpy").addHandler(self._handler)
        globalLogPublisher.addObserver(self._observer)

    def stop(self) -> None:
        logging.getLogger("starpy").removeHandler(self._handler)
        globalLogPublisher.removeObserver(self._observer)

    def flush(self, *errorTypes: Type[BaseException],
              match: Optional[str] = None) -> List[LoggedError]:
        """Take the errors logged so far that the test expects.

        Garbage is collected first, so that unhandled failed Deferreds are
        logged.  An error matches when its exception is one of *errorTypes*
        (if any are given) and the regular expression *match* is found in
        its :attr:`text <LoggedError.text>` (if given).

        :returns: the matching errors, oldest first; they no longer fail the
            test.
        """
        gc.collect()
        taken = [e for e in self.errors
                 if (not errorTypes or isinstance(e.exception, errorTypes))
                 and (match is None or re.search(match, e.text))]
        self.errors[:] = [e for e in self.errors if e not in taken]
        return taken

    def take(self) -> str:
        """Collect garbage, then take every error left, as one text."""
        gc.collect()
        errors = self.errors[:]
        del self.errors[:]
        return "\n\n".join(e.text for e in errors)

    def check(self, when: str) -> None:
        """Fail if any error is left."""
        text = self.take()
        if text:
            pytest.fail("unexpected error logged %s (a test that expects it takes it"
                        " with loggedErrors.flush()):\n\n%s" % (when, text), pytrace=False)


_key = pytest.StashKey[LoggedErrors]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    watcher = item.stash[_key] = LoggedErrors()
    watcher.start()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    watcher = item.stash[_key]
    try:
        result = yield
    except BaseException:
        # The test failed already: show what it logged beside its failure.
        text = watcher.take()
        if text:
            item.add_report_section("call", "logged errors", text)
        raise
    watcher.check("by the test")
    return result


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        watcher = item.stash.get(_key, None)
        if watcher is not None:
            try:
                watcher.check("while fixtures were set up or torn down")
            finally:
                watcher.stop()
                # What outlives the test is set aside, so that the next
                # test's collections look at its own objects only (a full
                # collection of the whole heap costs ~30 ms).
                gc.freeze()


@pytest.fixture
def loggedErrors(request: pytest.FixtureRequest) -> LoggedErrors:
    """The errors logged during this test; :meth:`LoggedErrors.flush` takes
    the expected ones."""
    watcher: LoggedErrors = request.node.stash[_key]
    return watcher


# -- fixtures for applications' tests ----------------------------------------------------


@pytest.fixture
def starpyClock() -> Clock:
    """A ``task.Clock`` the fakes run on; advance it to move time."""
    return Clock()


class FakeAMI:
    """StarPy's fake AMI server on the test's clock, and logins into it in memory.

    :ivar server: the :class:`FakeAMIServerFactory <starpy.testing.ami.FakeAMIServerFactory>`
        (script actions with ``server.script(...)``, send events with
        ``server.emitEvent(...)``).
    :ivar clock: the test's clock (:func:`starpyClock`).
    """

    def __init__(self, clock: Clock) -> None:
        from starpy.testing.ami import FakeAMIServerFactory

        self.clock = clock
        self.server = FakeAMIServerFactory(clock=clock)
        self._connections: List[Any] = []

    def login(self, username: str = "starpy", secret: str = "starpy-secret",
              **factoryOptions: Any) -> Any:
        """An :class:`AMIProtocol <starpy.manager.AMIProtocol>` logged in as *username*.

        *factoryOptions* go to :class:`AMIFactory <starpy.manager.AMIFactory>`
        (``md5=True``, ``events=False``...).

        :raises ~starpy.error.AMIAuthenticationError: for a wrong secret.
        """
        from starpy.manager import AMIFactory
        from starpy.testing.ami import loginInMemory

        factory = AMIFactory(username, secret, reactor=self.clock, **factoryOptions)
        protocol, connection = loginInMemory(self.server, factory)
        self._connections.append(connection)
        return protocol

    def flush(self) -> None:
        """Move every byte written so far, both ways, until all is quiet."""
        for connection in self._connections:
            connection.flush()


@pytest.fixture
def fakeAMI(starpyClock: Clock) -> FakeAMI:
    """StarPy's fake AMI server; ``fakeAMI.login()`` gives a logged-in protocol."""
    return FakeAMI(starpyClock)


@attrs.frozen
class FakeCallResult:
    """What :func:`fakeCall` returns.

    :ivar channel: the :class:`SimulatedChannel <starpy.testing.agi.SimulatedChannel>` (its
        ``variables``, ``hungUp``... after the call).
    :ivar transcript: the :class:`Transcript <starpy.testing.agi.Transcript>`: every
        command the handler sent and Asterisk's reply.
    """

    channel: Any
    transcript: Any


@pytest.fixture
def fakeCall(starpyClock: Clock) -> Callable[..., FakeCallResult]:
    """``fakeCall(handler, **channelFields)``: one call in memory to *handler*.

    *handler* is what ``FastAGIFactory`` takes (``handler(agi)``, plain,
    returning a Deferred, or ``async def``).  *channelFields* are those of
    :class:`SimulatedChannel <starpy.testing.agi.SimulatedChannel>` (``extension``,
    ``dtmf=[(seconds, digit)]``, ``variables``, ``hangupAt``...).  The call
    runs on the test's clock until the handler finishes it (at most an hour
    of simulated time).
    """
    from starpy.fastagi import FastAGIFactory
    from starpy.testing.agi import SimulatedChannel, placeCallInMemory

    def place(handler: Any, limit: float = 3600.0, **channelFields: Any) -> FakeCallResult:
        channel = SimulatedChannel(**channelFields)
        factory = FastAGIFactory(handler, clock=starpyClock)
        transcript = placeCallInMemory(factory, channel, starpyClock).runUntilFinished(limit)
        return FakeCallResult(channel, transcript)

    return place
