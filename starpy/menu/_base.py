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
from starpy.menu.prompt import DTMF_KEYS, Prompt, PromptElement, _checkText, toPrompt

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


async def _agi(agi: AGISession, d: "Deferred[_T]") -> _T:
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


async def _play(agi: AGISession, prompt: Sequence[Prompt], escapeDigits: str) -> Optional[str]:
    for element in prompt:
        digit = await _agi(agi, element.play(agi, escapeDigits))
        if digit is not None:
            return digit
    return None


# -- validation helpers --------------------------------------------------------------------


def _checkKeys(value: object, field: str) -> None:
    _checkText(value, field)
    assert isinstance(value, str)
    bad = [char for char in value if char not in DTMF_KEYS]
    if bad:
        raise error.MenuDefinitionError(
            "%r holds %r, which is not a telephone key (%s)" % (value, bad[0], DTMF_KEYS), field)


def _checkCount(value: object, field: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise error.MenuDefinitionError("must be an integer, not %r" % (value,), field)
    if value < minimum:
        raise error.MenuDefinitionError("must be %d or more, not %d" % (minimum, value), field)


def _checkBool(value: object, field: str) -> None:
    if not isinstance(value, bool):
        raise error.MenuDefinitionError("must be true or false, not %r" % (value,), field)


def _checkTextPrompt(value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise error.MenuDefinitionError("must be a string or None, not %r" % (value,),
                                        "textPrompt")


def _checkCallable(value: object, field: str) -> None:
    if value is not None and not callable(value):
        raise error.MenuDefinitionError("must be callable or None, not %r" % (value,), field)


def _prompt(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "prompt")


def _soundFile(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "soundFile")


def _invalidPrompt(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "invalidPrompt")


def _reviewPrompt(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "reviewPrompt")


def _confirmPrompt(value: PromptInput) -> Tuple[Prompt, ...]:
    return toPrompt(value, "confirmPrompt")


# -- the common part of every interaction ----------------------------------------------------


@attrs.frozen
class _Final:
    """A value from an ``onSuccess``/``onFailure`` handler: returned as it is
    by every enclosing menu, in place of the chain."""

    value: Any


_Outcome = Union[Chain, _Final]


def _result(outcome: _Outcome) -> Any:
    return outcome.value if isinstance(outcome, _Final) else outcome


class _Interaction:
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
            return _result(await self._interact(agi))

        return Deferred.fromCoroutine(run())

    async def _interact(self, agi: AGISession) -> _Outcome:
        try:
            outcome = await self._run(agi)
        except error.MenuExit:
            raise
        except error.MenuFinished:
            if self.onFailure is None:
                raise
            return _Final(await callHandler(self.onFailure, agi, Failure()))
        if self.onSuccess is None:
            return outcome
        return _Final(await callHandler(self.onSuccess, agi, _result(outcome)))

    async def _run(self, agi: AGISession) -> _Outcome:
        raise NotImplementedError()


class _Attempts:
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


