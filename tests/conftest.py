"""The test harness: a test fails when StarPy logs an error it did not expect.

StarPy never lets a failing callback escape into the reactor: an event
handler that raises, a listener whose Deferred fails, a fake Asterisk whose
script breaks are all logged and the connection goes on.  That is right for
an application and wrong for a test, where the failure would pass unseen.
So every test is watched for

* a record at ``ERROR`` or above from a ``starpy`` logger (``starpy.*``,
  including the fakes of ``starpy.testing``), and
* a Twisted log event carrying a failure (``log.failure``/``log.err``),
  among them Twisted's "Unhandled error in Deferred", which is logged when a
  Deferred whose last result is a failure is garbage collected; the
  collector runs after each test so that such a Deferred is blamed on the
  test that made it (objects that outlive a test are then frozen out of
  later collections, ``gc.freeze()``, to keep this cheap).

Any of these fails the test, with the record and its traceback in the
message.  Those logged while fixtures are set up or torn down fail the test
at teardown; those logged by a test that fails anyway are shown beside its
failure ("logged errors").

A test that *expects* an error says so, as Trial's ``flushLoggedErrors``
does, through the :func:`loggedErrors` fixture::

    def test_brokenHandlerIsLogged(loggedErrors: LoggedErrors) -> None:
        ...  # make a handler raise RuntimeError("boom")
        [error] = loggedErrors.flush(RuntimeError)
        assert "boom" in error.text

``flush`` takes (and so forgives) only the errors that match, by exception
type and/or by a regular expression on the text (for records, such as the
AGI handler reports, that carry their traceback as text); any other still
fails the test.
"""
from __future__ import annotations

import gc
import logging
import re
from typing import Generator, List, Optional, Type

import attrs
import pytest
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import implementer


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
        its :attr:`~LoggedError.text` (if given).

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
