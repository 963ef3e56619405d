"""Prompts: what an IVR menu plays, element by element, over any AGI session.

A prompt is a sequence of elements played in order.  Each element can be
interrupted by the menu's escape digits; the first digit pressed stops the
whole prompt and is returned.  The elements:

* a sound file name (``"atlantic"``) or :class:`AudioPrompt`: ``STREAM FILE``;
* an ``int`` or :class:`NumberPrompt`: ``SAY NUMBER`` ("forty-two");
* :class:`DigitsPrompt`: ``SAY DIGITS`` ("four two");
* :class:`AlphaPrompt`: ``SAY ALPHA`` (letter by letter);
* :class:`DateTimePrompt`: ``SAY DATETIME`` with Asterisk's format;
* :class:`SilencePrompt`: a pause, during which an escape digit still counts;
* :class:`TextPrompt`: text spoken by Asterisk's ``Festival`` application
  (upstream StarPy's text prompt; Festival must be installed).

Each element's ``play(agi, escapeDigits)`` returns a Deferred firing with the
escape digit that stopped it, or ``None``.  :mod:`starpy.menu` re-exports
them, and they log on its logger (``starpy.menu``).  They use nothing but
:class:`AGISession <starpy.agi.AGISession>` methods, so they play the same over FastAGI,
classic AGI and AsyncAGI.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Sequence, Tuple, Union

import attrs
from twisted.internet.defer import Deferred

from starpy import error
from starpy.agi import AGISession
from starpy.codec.appargs import appArguments
from starpy.menu._checks import DTMF_KEYS, checkSeconds, checkText, keyPressed

__all__ = [
    "DTMF_KEYS",
    "Prompt",
    "PromptElement",
    "AudioPrompt",
    "NumberPrompt",
    "DigitsPrompt",
    "AlphaPrompt",
    "DateTimePrompt",
    "SilencePrompt",
    "TextPrompt",
    "toPrompt",
]

log = logging.getLogger("starpy.menu")

@attrs.frozen
class AudioPrompt:
    """Play a sound file (``STREAM FILE``), by Asterisk's name: no extension,
    relative to the sounds directory or absolute (``"atlantic"``,
    ``"digits/1"``, ``"/var/lib/asterisk/sounds/custom/hello"``)."""

    filename: str

    def __attrs_post_init__(self) -> None:
        checkText(self.filename, "filename")

    def play(self, agi: AGISession, escapeDigits: str = "") -> Deferred[Optional[str]]:
        """Play it.

        :return: a Deferred firing with the escape digit that stopped it, or
            ``None`` when it played to the end; it fails as
            :meth:`streamFile <starpy.agi.AGISession.streamFile>` does (a missing file
            or a hangup: :class:`AGICommandFailure <starpy.error.AGICommandFailure>`).
        """
        return agi.streamFile(self.filename, escapeDigits).addCallback(
            lambda result: keyPressed(result[0]))


@attrs.frozen
class NumberPrompt:
    """Say a number (``SAY NUMBER``): 42 is "forty-two".

    :ivar gender: Asterisk's gender for languages that need one
        (``"m"``, ``"f"``, ``"n"``, ``"c"``), or ``None``.
    """

    value: int
    gender: Optional[str] = None

    def __attrs_post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise error.MenuDefinitionError("must be an integer, not %r" % (self.value,), "value")
        if self.gender is not None:
            checkText(self.gender, "gender")

    def play(self, agi: AGISession, escapeDigits: str = "") -> Deferred[Optional[str]]:
        """Say it; fires with the escape digit pressed or ``None`` (see
        :meth:`sayNumber <starpy.agi.AGISession.sayNumber>` for failures)."""
        return agi.sayNumber(self.value, escapeDigits, self.gender).addCallback(keyPressed)


@attrs.frozen
class DigitsPrompt:
    """Say digits one by one (``SAY DIGITS``): 53 is "five three"."""

    value: Union[int, str]

    def __attrs_post_init__(self) -> None:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise error.MenuDefinitionError(
                "must be an integer or a string of digits, not %r" % (value,), "value")
        text = str(value)
        if not text or any(char not in "0123456789*#-" for char in text):
            raise error.MenuDefinitionError("must be digits, not %r" % (value,), "value")

    def play(self, agi: AGISession, escapeDigits: str = "") -> Deferred[Optional[str]]:
        """Say them; fires with the escape digit pressed or ``None``."""
        return agi.sayDigits(self.value, escapeDigits).addCallback(keyPressed)


@attrs.frozen
class AlphaPrompt:
    """Spell a string letter by letter (``SAY ALPHA``)."""

    value: str

    def __attrs_post_init__(self) -> None:
        checkText(self.value, "value")

    def play(self, agi: AGISession, escapeDigits: str = "") -> Deferred[Optional[str]]:
        """Spell it; fires with the escape digit pressed or ``None``."""
        return agi.sayAlpha(self.value, escapeDigits).addCallback(keyPressed)


@attrs.frozen
class DateTimePrompt:
    """Say a date and time (``SAY DATETIME``).

    :ivar value: epoch seconds (or a datetime); ``None`` says the time at
        which the prompt plays, read from the session's clock.
    :ivar format: Asterisk's say format (``"ABdY 'digits/at' IMp"`` is its
        default), or ``None``.
    :ivar timezone: a zone name from ``/usr/share/zoneinfo``, or ``None``.
    """

    value: Any = None
    format: Optional[str] = None
    timezone: Optional[str] = None

    def __attrs_post_init__(self) -> None:
        value = self.value
        if isinstance(value, bool) or not (
                value is None or isinstance(value, (int, float)) or hasattr(value, "timestamp")):
            raise error.MenuDefinitionError(
                "must be epoch seconds, a datetime or None (now), not %r" % (value,), "value")
        if self.format is not None:
            checkText(self.format, "format")
        if self.timezone is not None:
            checkText(self.timezone, "timezone")

    def play(self, agi: AGISession, escapeDigits: str = "") -> Deferred[Optional[str]]:
        """Say it; fires with the escape digit pressed or ``None``."""
        when = agi.clock.seconds() if self.value is None else self.value
        return agi.sayDateTime(when, escapeDigits, self.format, self.timezone).addCallback(keyPressed)


@attrs.frozen
class SilencePrompt:
    """A pause of *seconds* that plays nothing.

    With escape digits it waits with ``WAIT FOR DIGIT``, so an escape digit
    pressed during the pause counts, and other keys are ignored as
    Asterisk ignores them during playback; without, it waits locally
    (:meth:`wait <starpy.agi.AGISession.wait>`).
    """

    seconds: float

    def __attrs_post_init__(self) -> None:
        checkSeconds(self.seconds, "seconds")

    def play(self, agi: AGISession, escapeDigits: str = "") -> Deferred[Optional[str]]:
        """Wait; fires with the escape digit pressed or ``None``.

        It fails as :meth:`waitForDigit <starpy.agi.AGISession.waitForDigit>` does
        (:class:`AGICommandFailure <starpy.error.AGICommandFailure>` on hangup).
        """
        if not escapeDigits:
            return agi.wait(float(self.seconds)).addCallback(lambda ignored: None)
        return Deferred.fromCoroutine(self._listen(agi, escapeDigits))

    async def _listen(self, agi: AGISession, escapeDigits: str) -> Optional[str]:
        deadline = agi.clock.seconds() + self.seconds
        while True:
            remaining = deadline - agi.clock.seconds()
            if remaining < 0.001:
                return None
            digit = keyPressed(await agi.waitForDigit(remaining))
            if digit is None or digit in escapeDigits:
                return digit
            log.debug("key %r ignored during silence (not an escape digit)", digit)


@attrs.frozen
class TextPrompt:
    """Speak *value* with Asterisk's ``Festival`` application (``EXEC Festival``),
    as upstream StarPy's ``TextPrompt`` did."""

    value: str

    def __attrs_post_init__(self) -> None:
        checkText(self.value, "value")

    def play(self, agi: AGISession, escapeDigits: str = "") -> Deferred[Optional[str]]:
        """Speak it; fires with the escape digit pressed or ``None``.

        It fails as :meth:`execute <starpy.agi.AGISession.execute>` does (no
        Festival: :class:`AGICommandFailure <starpy.error.AGICommandFailure>`), and with
        :class:`AGICommandFailure <starpy.error.AGICommandFailure>` when Festival fails (-1).
        """

        def key(text: str) -> Optional[str]:
            code = int(text.split(" ", 1)[0])
            if code < 0:
                raise error.AGICommandFailure("EXEC Festival", 200, "result=" + text)
            return keyPressed(code)

        # Festival splits its data like any application's arguments: the text
        # is escaped so that a comma or a quote in it is spoken, not parsed.
        data = appArguments([self.value] + ([escapeDigits] if escapeDigits else []),
                            "Festival text")
        return agi.execute("Festival", data).addCallback(key)


#: One element of a prompt.
Prompt = Union[AudioPrompt, NumberPrompt, DigitsPrompt, AlphaPrompt, DateTimePrompt,
               SilencePrompt, TextPrompt]

#: What may be given where a prompt is expected: an element, a sound file
#: name, an int (said as a number), or a sequence of these.
PromptElement = Union[Prompt, str, int]

_PROMPT_TYPES = (AudioPrompt, NumberPrompt, DigitsPrompt, AlphaPrompt, DateTimePrompt,
                 SilencePrompt, TextPrompt)


def _element(value: object, field: str) -> Prompt:
    if isinstance(value, _PROMPT_TYPES):
        return value
    if isinstance(value, str):
        if not value:
            raise error.MenuDefinitionError("a sound file name must not be empty", field)
        return AudioPrompt(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return NumberPrompt(value)
    raise error.MenuDefinitionError(
        "must be a sound file name, an int or a prompt (AudioPrompt, NumberPrompt, "
        "DigitsPrompt, AlphaPrompt, DateTimePrompt, SilencePrompt, TextPrompt), not %r"
        % (value,), field)


def toPrompt(value: Union[PromptElement, Sequence[PromptElement], None],
             field: str = "prompt") -> Tuple[Prompt, ...]:
    """Normalise *value* to a tuple of prompt elements.

    ``None`` is the empty prompt; a string is one sound file; a list or
    tuple is played in order.

    :raise starpy.error.MenuDefinitionError: naming *field* (and the index
        of the element) when an element is not a prompt.
    """
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(_element(item, "%s[%d]" % (field, index))
                     for index, item in enumerate(value))
    return (_element(value, field),)
