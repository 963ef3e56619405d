"""Looking at Deferreds synchronously in tests (no reactor needed)."""
from __future__ import annotations

from typing import Any, List, TypeVar

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure


def result(d: Deferred[Any]) -> Any:
    """The result *d* has fired with; raises its failure, or if it has not fired."""
    box: List[Any] = []
    d.addBoth(box.append)
    assert box, "Deferred has not fired"
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


def failure(d: Deferred[Any]) -> Failure:
    """The failure *d* has fired with (consumed); asserts that it failed."""
    box: List[Any] = []
    d.addBoth(box.append)
    assert box and isinstance(box[0], Failure), "Deferred did not fail: %r" % (box,)
    return box[0]


_Exception = TypeVar("_Exception", bound=BaseException)


def failedWith(d: Deferred[Any], kind: type[_Exception]) -> _Exception:
    """The exception *d* has failed with (consumed); asserts that it failed
    with a *kind* (or a subclass of it)."""
    value = failure(d).value
    assert isinstance(value, kind), "Deferred failed with %r, not %s" % (value, kind.__name__)
    return value


def unfired(d: Deferred[Any]) -> None:
    """Assert that *d* has not fired, leaving it untouched."""
    box: List[Any] = []

    def look(value: Any) -> Any:
        box.append(value)
        return value

    d.addBoth(look)
    assert not box, "Deferred fired with %r" % (box,)
