"""What every menu model shares: running AGI commands, attempts, handlers.

Private to the :mod:`starpy.menu` package.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar, Union

import attrs
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import error
from starpy.agi import AGISession, callHandler
from starpy.menu.prompt import Prompt, PromptElement, toPrompt

log = logging.getLogger("starpy.menu")

_T = TypeVar("_T")

#: The result of a menu: ``(option, digits)`` pairs from the top menu down.
Chain = List[Tuple[Any, str]]

#: What a prompt field accepts (see :func:`starpy.menu.prompt.toPrompt`).
PromptInput = Union[PromptElement, Sequence[PromptElement], None]

#: The invalid-entry message played by default (an Asterisk core sound).
INVALID_PROMPT = "pm-invalid-option"


# -- running AGI commands -----------------------------------------------------------------


async def _hungUp(agi: AGISession) -> bool:
    """Whether the channel has hung up, asking Asterisk if we do not know.

    Asterisk answers a command cut short by a hangup with ``result=-1``
    (and sends ``HANGUP`` only after it), the same answer as for a missing
    sound file.  ``CHANNEL STATUS`` is refused on a dead channel (511), so
    it tells the two apart over every transport.
    """
    if agi.hungUp or agi.closed:
        return True
    try:
        await agi.channelStatus()
    except error.AGIError:
        return True
    return agi.hungUp or agi.closed


async def awaitCommand(agi: AGISession, d: "Deferred[_T]") -> _T:
    """Await an AGI command; a failure caused by a hangup becomes AGIHangup."""
    try:
        return await d
    except error.AGIHangup:
        raise
    except error.AGIDeadChannel as e:
        raise error.AGIHangup(e.command, e.code, "the channel hung up") from e
    except error.AGICommandFailure as e:
        if type(e) is error.AGICommandFailure and e.code == 200 and await _hungUp(agi):
            raise error.AGIHangup(e.command, e.code, "the channel hung up") from e
        raise


async def playPrompt(agi: AGISession, prompt: Sequence[Prompt], escapeDigits: str) -> Optional[str]:
    for element in prompt:
        digit = await awaitCommand(agi, element.play(agi, escapeDigits))
        if digit is not None:
            return digit
    return None


def promptField(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "prompt")


def soundFileField(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "soundFile")


def invalidPromptField(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "invalidPrompt")


def reviewPromptField(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "reviewPrompt")


def confirmPromptField(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "confirmPrompt")


# -- the common part of every interaction ----------------------------------------------------


@attrs.frozen
class HandlerResult:
    """A value from an ``onSuccess``/``onFailure`` handler: returned as it is
    by every enclosing menu, in place of the chain."""

    value: Any


Outcome = Union[Chain, HandlerResult]


def outcomeValue(outcome: Outcome) -> Any:
    return outcome.value if isinstance(outcome, HandlerResult) else outcome


class InteractionBase:
    """What Menu and the Collect* models share: calling, onSuccess, onFailure."""

    onSuccess: Optional[Callable[..., Any]]
    onFailure: Optional[Callable[..., Any]]

    def __call__(self, agi: AGISession) -> Deferred[Any]:
        """Run it on *agi*.

        :return: a Deferred firing with the chain ``[(option, digits), ...]``
            (or with what an ``onSuccess``/``onFailure`` handler returned).
            It fails with :class:`MenuFinished <starpy.error.MenuFinished>` (its
            subclasses :class:`MenuTimeout <starpy.error.MenuTimeout>`,
            :class:`MenuUnexpectedOption <starpy.error.MenuUnexpectedOption>`) when repetitions
            run out, :class:`MenuExit <starpy.error.MenuExit>` when the caller chose an
            :class:`ExitOn` option of a top-level menu,
            :class:`AGIHangup <starpy.error.AGIHangup>` when the channel hangs up, and
            with any other AGI error (a missing sound file:
            :class:`AGICommandFailure <starpy.error.AGICommandFailure>`).
        """

        async def run() -> Any:
            return outcomeValue(await self.interact(agi))

        return Deferred.fromCoroutine(run())

    async def interact(self, agi: AGISession) -> Outcome:
        """Run the interaction and its handlers as a coroutine (what
        :meth:`__call__` wraps in a Deferred, and a sub-menu awaits): the
        chain of choices, or a :class:`HandlerResult` from a handler."""
        try:
            outcome = await self._run(agi)
        except error.MenuExit:
            raise
        except error.MenuFinished:
            if self.onFailure is None:
                raise
            return HandlerResult(await callHandler(self.onFailure, agi, Failure()))
        if self.onSuccess is None:
            return outcome
        return HandlerResult(await callHandler(self.onSuccess, agi, outcomeValue(outcome)))

    async def _run(self, agi: AGISession) -> Outcome:
        raise NotImplementedError()


class Attempts:
    """Counts failed attempts; raises the right MenuFinished when they run out."""

    def __init__(self, what: object, maxRepetitions: int) -> None:
        self.what = what
        self.maxRepetitions = maxRepetitions
        self.failed = 0

    def fail(self, kind: str, entry: str = "") -> None:
        """Count a failed attempt (*kind*: ``"timeout"`` or ``"invalid"``)."""
        self.failed += 1
        log.debug("%r: %s entry (%d of %d attempts)", self.what, kind, self.failed,
                  self.maxRepetitions + 1)
        if self.failed <= self.maxRepetitions:
            return
        if kind == "timeout":
            raise error.MenuTimeout("no entry after %d attempts" % (self.failed,))
        raise error.MenuUnexpectedOption(
            "invalid entry after %d attempts%s" % (self.failed,
                                                   " (last: %r)" % (entry,) if entry else ""))


