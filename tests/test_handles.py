"""Every registration returns one kind of handle: cancel() undoes it, once."""
from __future__ import annotations

from typing import Any, List

from twisted.internet.task import Clock

from starpy import dispatch, manager
from starpy.dispatch import Handle, HandleGroup
from starpy.eventfilter import CombinedRegistrations
from starpy.utilapplication import UtilApplication


def test_handleCancelsOnceAndIsCallable() -> None:
    undone: List[int] = []
    handle = Handle(lambda: undone.append(1))
    assert handle.active
    handle.cancel()
    handle.cancel()
    handle()                      # as the plain functions these used to be
    assert undone == [1] and not handle.active


def test_oneHandleGroupForSeveralRegistrations() -> None:
    dispatcher, other = dispatch.EventDispatcher(), dispatch.EventDispatcher()
    group = dispatcher.register(["Hangup", "Newchannel"], lambda p, e: None)
    assert isinstance(group, HandleGroup) and isinstance(group, Handle)
    assert group.registrations == group.handles and len(group.handles) == 2
    assert len(dispatcher) == 2
    group()  # callable, as every Handle
    group.cancel()
    assert len(dispatcher) == 0 and not group.active and group.handles == []
    # What the pool's combined registrations return is the same kind of group.
    changes: List[Any] = []
    observing = CombinedRegistrations([dispatcher, other]).onChange(changes.append)
    assert isinstance(observing, HandleGroup) and len(observing.handles) == 2
    other.register("Hangup", lambda p, e: None)
    observing.cancel()
    dispatcher.register("Hangup", lambda p, e: None)
    assert changes == [other]


def test_applicationRegistrationsReturnHandles(tmp_path: Any) -> None:
    application = _application(tmp_path)
    handler = lambda agi: None  # noqa: E731
    forExtension = application.handleCallsFor("100", handler)
    forScript = application.handleScript("/hello/", handler)
    assert isinstance(forExtension, Handle) and isinstance(forScript, Handle)
    assert application._handlers[(None, "100")] is handler
    forExtension.cancel()
    forScript.cancel()
    assert (None, "100") not in application._handlers
    assert "hello" not in application._scripts


def test_serviceObserversReturnHandles() -> None:
    service = manager.AMIService(manager.AMIFactory("u", "s", reactor=Clock()),
                                 "tcp:host=127.0.0.1:port=1", clock=Clock())
    seen: List[Any] = []
    onLogin = service.onLogin(seen.append)
    onFailed = service.onLoginFailed(lambda ami, failure: seen.append(failure))
    assert isinstance(onLogin, Handle) and isinstance(onFailed, Handle)
    onLogin.cancel()
    onFailed.cancel()
    assert service._observers == [] and service._failureObservers == []


def _application(tmp_path: Any) -> UtilApplication:
    conf = tmp_path / "starpy.conf"
    conf.write_text("[AMI]\n")
    return UtilApplication(str(conf), reactor=Clock())


def test_logFailureHandsTheExceptionToLogging() -> None:
    """A Failure is logged with its exception and traceback as exc_info."""
    import logging

    from twisted.python.failure import Failure

    from starpy._logfailure import logFailure

    records: List[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("starpy-test-logfailure")
    logger.addHandler(Keep())
    try:
        raise KeyError("boom")
    except KeyError:
        reason = Failure()
    logFailure(logger, reason, "handler %r failed", "h")
    [record] = records
    assert record.getMessage() == "handler 'h' failed"
    assert record.exc_info is not None and record.exc_info[1] is reason.value
    assert "KeyError: 'boom'" in logging.Formatter().formatException(record.exc_info)
