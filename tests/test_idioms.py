"""The private home of StarPy's recurring Twisted idioms (starpy._idioms)."""
from __future__ import annotations

import logging
from typing import Any, List

import pytest
from twisted.internet.defer import CancelledError, Deferred, fail
from twisted.internet.testing import StringTransport

from starpy._idioms import OneShot, Waiters, abortTransport, defaultReactor, notifyListener


def test_waitersFireEveryWaiterOnceAndStartAgain() -> None:
    waiters: Waiters[int] = Waiters()
    got: List[int] = []
    waiters.wait().addCallback(got.append)
    waiters.wait().addCallback(got.append)
    assert len(waiters) == 2
    waiters.fire(7)
    assert got == [7, 7]
    assert len(waiters) == 0
    later = waiters.wait()
    waiters.fire(8)
    assert later.result == 8


def test_waitersCancelledWaiterIsForgotten() -> None:
    waiters: Waiters[int] = Waiters()
    first = waiters.wait()
    second = waiters.wait()
    first.cancel()
    assert len(waiters) == 1
    failures: List[Any] = []
    first.addErrback(failures.append)
    assert failures[0].check(CancelledError)
    waiters.fire(1)
    assert second.result == 1


def test_waitersWaiterCancelledByAnEarlierOneIsSkipped() -> None:
    waiters: Waiters[int] = Waiters()
    first = waiters.wait()
    second = waiters.wait()
    first.addCallback(lambda ignored: second.cancel())
    second.addErrback(lambda reason: reason.trap(CancelledError))
    waiters.fire(3)  # would raise AlreadyCalledError without the skip
    assert second.called


def test_waitersFail() -> None:
    waiters: Waiters[int] = Waiters()
    waiter = waiters.wait()
    waiters.fail(ValueError("gone"))
    failures: List[Any] = []
    waiter.addErrback(failures.append)
    assert failures[0].check(ValueError)


def test_oneShotFiresWaitersAndLaterAsksAtOnce() -> None:
    shot: OneShot[str] = OneShot()
    early = shot.when()
    assert not early.called and not shot.done
    shot.fire("banner")
    assert early.result == "banner"
    assert shot.done
    assert shot.when().result == "banner"
    with pytest.raises(RuntimeError):
        shot.fire("again")


def test_oneShotFailureIsGivenToLaterWaitersToo() -> None:
    shot: OneShot[str] = OneShot()
    early = shot.when()
    shot.fail(KeyError("x"))
    reasons: List[Any] = []
    early.addErrback(reasons.append)
    shot.when().addErrback(reasons.append)
    assert [reason.check(KeyError) for reason in reasons] == [KeyError, KeyError]
    with pytest.raises(RuntimeError):
        shot.fail(KeyError("y"))


def test_notifyListenerLogsARaisedExceptionAndGoesOn(
        loggedErrors: Any) -> None:
    logger = logging.getLogger("starpy.test_idioms")

    def broken(value: int) -> None:
        raise ZeroDivisionError(value)

    notifyListener(logger, "test observer", broken, 5)
    [record] = loggedErrors.flush(ZeroDivisionError)
    assert record.message.startswith("test observer <function")
    assert isinstance(record.exception, ZeroDivisionError)


def test_notifyListenerLogsAFailedDeferred(loggedErrors: Any) -> None:
    logger = logging.getLogger("starpy.test_idioms")
    notifyListener(logger, "test observer", lambda: fail(LookupError("late")))
    [record] = loggedErrors.flush(LookupError)
    assert "test observer" in record.text


def test_notifyListenerPassesArgumentsAndIgnoresResults() -> None:
    seen: List[Any] = []

    def listener(*args: object) -> Deferred[None]:
        seen.append(args)
        return Deferred()

    notifyListener(logging.getLogger("starpy.test_idioms"), "x", listener, 1, "two")
    assert seen == [(1, "two")]


def test_abortTransportPrefersAbortConnection() -> None:
    transport = StringTransport()
    abortTransport(transport)
    assert transport.disconnecting  # StringTransport.abortConnection
    abortTransport(None)  # nothing to drop


def test_abortTransportFallsBackToLoseConnection() -> None:
    class Plain:
        lost = False

        def loseConnection(self) -> None:
            self.lost = True

    plain = Plain()
    abortTransport(plain)
    assert plain.lost


def test_defaultReactorIsTheGlobalReactor() -> None:
    from twisted.internet import reactor

    assert defaultReactor() is reactor
