"""Running handlers and steps: :func:`callHandler`, :func:`runHandler`, :class:`InSequence`.

Private to :mod:`starpy.agi`, which re-exports these names (and
:mod:`starpy.fastagi` re-exports ``InSequence`` and ``runHandler``, as
upstream StarPy's did).
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Deque, Dict, List, Optional, Tuple, TypeVar

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

if TYPE_CHECKING:
    from starpy.agi._session import AGISession

__all__ = ["Handler", "callHandler", "runHandler", "InSequence"]

_T = TypeVar("_T")


def callHandler(function: Callable[..., Any], *args: Any, **named: Any) -> Deferred[Any]:
    """Call *function* and return a Deferred of its outcome.

    The function may return a plain value, a Deferred, or be an ``async
    def`` (its coroutine is run with ``Deferred.fromCoroutine``); an
    exception it raises becomes a failed Deferred.
    """
    try:
        result = function(*args, **named)
    except BaseException:
        return defer.fail(Failure())
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Coroutine):
        return Deferred.fromCoroutine(result)
    return defer.succeed(result)


#: A call handler: called with the session once the call's environment is
#: known; returns a value, a Deferred, or is an ``async def``.
Handler = Callable[[Any], Any]


def runHandler(agi: "AGISession", mainFunction: Handler) -> Deferred[bool]:
    """Run ``mainFunction(agi)`` the way every AGI transport does.

    If the function raises or its Deferred (or coroutine) fails, the
    session's :meth:`failureReport <starpy.agi.AGISession.failureReport>`
    is logged as one ERROR entry on the transport's logger (the session's
    ``handlerLog``) and the session is finished.  If it returns a Deferred or is a coroutine, the session is
    finished when that completes.  A plain return value leaves the session
    open: such a handler finishes it itself (StarPy's callback style).

    :return: a Deferred that fires once the handler is done, with ``True``
        if it succeeded and ``False`` if it failed; it never fails.
    """
    try:
        result = mainFunction(agi)
    except Exception:
        return defer.succeed(_handlerFailed(Failure(), agi))
    # A Deferred first: the Coroutine check is an ABC's, much dearer (with
    # the factory's reactor looked up once and the argument names made once,
    # 926 to 898 M instructions over 1,000 reference W3 sessions in
    # bench/w3_driver.py, bench/RESULTS.md).
    if not isinstance(result, Deferred):
        if not isinstance(result, Coroutine):
            return defer.succeed(True)
        result = Deferred.fromCoroutine(result)
    # A module function with the session as argument, not two closures per
    # call, no cast() call at run time, and one addBoth instead of
    # addCallbacks with its keyword arguments (713 to 710 M instructions
    # over 1,000 W3 sessions in bench/w3_driver.py, bench/RESULTS.md).
    done: Deferred[bool] = result.addBoth(_handlerEnded, agi)
    return done


def _handlerEnded(outcome: object, agi: "AGISession") -> bool:
    if isinstance(outcome, Failure):
        return _handlerFailed(outcome, agi)
    agi.finish()
    return True


def _handlerFailed(reason: Failure, agi: "AGISession") -> bool:
    agi.handlerLog.error("%s", agi.failureReport(reason))
    agi.finish()
    return False


class InSequence:
    """Run calls one after the other (StarPy's ``fastagi.InSequence``).

    ::

        sequence = InSequence()
        sequence.append(agi.answer)
        sequence.append(agi.streamFile, "hello-world")
        results = await sequence()

    Each step may return a value, a Deferred or a coroutine.  The hooks of
    upstream StarPy are kept, with its meaning, for subclasses and callers:
    :meth:`recordResult`, :meth:`onActionSuccess`, :meth:`onActionFailure`.
    Unlike upstream's, a sequence may be called again: each call runs every
    step appended so far, from the first.

    :ivar actions: the steps, as ``(function, args, named)``.
    :ivar results: the results of the current (or last) run so far.
    :ivar finalDF: the Deferred of the current (or last) run, or ``None``.
    """

    def __init__(self) -> None:
        self.actions: List[Tuple[Callable[..., Any], Tuple[Any, ...], Dict[str, Any]]] = []
        self.results: List[Any] = []
        self.finalDF: Optional[Deferred[List[Any]]] = None
        self._pending: Deque[Tuple[Callable[..., Any], Tuple[Any, ...], Dict[str, Any]]] = deque()

    def append(self, function: Callable[..., Any], *args: Any, **named: Any) -> None:
        """Add a step: ``function(*args, **named)``."""
        self.actions.append((function, args, named))

    def __call__(self) -> Deferred[List[Any]]:
        """Run the steps in order.

        :return: a Deferred that fires with the list of the steps' results,
            or fails with the failure of the first step that fails; that
            Failure carries the results so far as its ``results`` attribute
            (and, when possible, so does its exception).
        """
        self.results = []
        self._pending = deque(self.actions)
        finalDF: Deferred[List[Any]] = Deferred()
        self.finalDF = finalDF
        self.onActionSuccess(None, finalDF)
        return finalDF

    def recordResult(self, result: _T) -> _T:
        """Add one step's *result* to :attr:`results`; return it."""
        self.results.append(result)
        return result

    def onActionSuccess(self, result: object, finalDF: Deferred[List[Any]]) -> None:
        """A step succeeded with *result* (``None`` at the start): run the
        next steps, or fire *finalDF* with :attr:`results` when none is left.

        Steps that complete at once run in a loop, so a long sequence does
        not grow the stack.
        """
        while self._pending:
            function, args, named = self._pending.popleft()
            done: List[Any] = []
            inLoop = [True]

            def settled(value: object, finalDF: Deferred[List[Any]] = finalDF,
                        done: List[Any] = done, inLoop: List[bool] = inLoop) -> None:
                if inLoop[0]:
                    done.append(value)
                elif isinstance(value, Failure):
                    self.onActionFailure(value, finalDF)
                else:
                    self.onActionSuccess(value, finalDF)

            callHandler(function, *args, **named).addCallback(self.recordResult).addBoth(settled)
            inLoop[0] = False
            if not done:
                return  # asynchronous: settled() carries on
            if isinstance(done[0], Failure):
                self.onActionFailure(done[0], finalDF)
                return
        if not finalDF.called:
            finalDF.callback(self.results)

    def onActionFailure(self, reason: Failure, finalDF: Deferred[List[Any]]) -> None:
        """A step failed: fail *finalDF* with *reason*, which (and, when
        possible, its exception) carries the results so far as ``results``."""
        self._pending.clear()
        done = list(self.results)
        reason.results = done  # type: ignore[attr-defined]
        try:
            setattr(reason.value, "results", done)  # noqa: B010 - any exception type
        except AttributeError:
            pass
        if not finalDF.called:
            finalDF.errback(reason)
