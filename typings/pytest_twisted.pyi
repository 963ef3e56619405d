# Types for the two pytest-twisted decorators the tests use; pytest-twisted
# ships no annotations (no py.typed).  Both hand back the function they mark:
# ensureDeferred marks a coroutine function for pytest-twisted to run on the
# reactor, inlineCallbacks wraps a generator function in
# twisted.internet.defer.inlineCallbacks.
from collections.abc import Callable, Coroutine, Generator
from typing import Any, ParamSpec, TypeVar

from twisted.internet.defer import Deferred

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Coroutine = TypeVar("_Coroutine", bound=Callable[..., Coroutine[Any, Any, Any]])

def ensureDeferred(f: _Coroutine) -> _Coroutine: ...
def inlineCallbacks(f: Callable[_P, Generator[Any, Any, _T]]) -> Callable[_P, Deferred[_T]]: ...
