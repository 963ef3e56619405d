"""Collecting input: digits, passwords, recordings.

Re-exported by :mod:`starpy.menu`, where the rest of the menu system lives.
"""
from __future__ import annotations

import hmac
import logging
import os
import secrets
from typing import Any, Callable, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

import attrs
from twisted.internet.defer import Deferred

from starpy import error
from starpy.agi import AGISession, callHandler
from starpy.menu._base import (
    INVALID_PROMPT,
    Attempts,
    InteractionBase,
    Outcome,
    awaitCommand,
    confirmPromptField,
    invalidPromptField,
    playPrompt,
    promptField,
    reviewPromptField,
    soundFileField,
)
from starpy.menu._checks import (
    DTMF_KEYS,
    checkBool,
    checkCallable,
    checkCount,
    checkKeys,
    checkSeconds,
    checkText,
    checkTextPrompt,
    keyPressed,
)
from starpy.menu.prompt import DigitsPrompt, Prompt

__all__ = [
    "CollectDigits",
    "CollectPassword",
    "CollectAudio",
    "AudioFiles",
    "LocalFiles",
]

log = logging.getLogger("starpy.menu")


# -- digit entry -----------------------------------------------------------------------------


async def _collect(agi: AGISession, prompt: Sequence[Prompt], timeout: float,
                   maxDigits: Optional[int]) -> Tuple[str, bool]:
    """Play *prompt* (any key stops it) and collect keys until ``#``, *maxDigits*
    or *timeout* seconds without a key.

    :return: ``(digits, timedOut)``; timedOut is true only when nothing was
        entered.
    """
    digit = await playPrompt(agi, prompt, DTMF_KEYS)
    entered = ""
    while True:
        if digit is None:
            digit = keyPressed(await awaitCommand(agi, agi.waitForDigit(timeout)))
            if digit is None:
                return entered, not entered
        if digit == "#":
            return entered, False
        entered += digit
        digit = None
        if maxDigits is not None and len(entered) >= maxDigits:
            return entered, False


def _checkDigitEntry(model: Union["CollectDigits", "CollectPassword"]) -> None:
    checkCount(model.minDigits, "minDigits", 0)
    if model.maxDigits is not None:
        checkCount(model.maxDigits, "maxDigits", max(1, model.minDigits))
    checkSeconds(model.timeout, "timeout")
    checkBool(model.tellInvalid, "tellInvalid")
    checkCount(model.maxRepetitions, "maxRepetitions", 0)
    checkCallable(model.onSuccess, "onSuccess")
    checkCallable(model.onFailure, "onFailure")
    checkTextPrompt(model.textPrompt)


@attrs.frozen(kw_only=True)
class CollectDigits(InteractionBase):
    """Collect a number (an extension, an account...) from the caller.

    The prompt plays (any key stops it) and keys are collected until ``#``,
    *maxDigits* keys, or *timeout* seconds without a key.  Fewer than
    *minDigits* keys is an invalid entry, no key an empty one: both start
    again, at most *maxRepetitions* more times (then the Deferred fails
    with :class:`MenuUnexpectedOption <starpy.error.MenuUnexpectedOption>` or
    :class:`MenuTimeout <starpy.error.MenuTimeout>`).

    With *confirm*, the entry is read back (*reviewPrompt*, the digits,
    *confirmPrompt*): *confirmKey* accepts it, any other key enters it
    again, no key within *timeout* counts as an empty attempt and reads it
    back again.

    With *readBack* (upstream's field; upstream declared it but never read
    it back) a valid entry is said back to the caller, digit by digit, before
    the result is returned; with *confirm* the entry is read back anyway.

    On its own, ``await CollectDigits(...)(agi)`` fires with a chain of one
    pair, ``[(collectDigits, digits)]``: this model and the keys entered as a
    string, without the closing ``#`` (``"555"``; with *minDigits* 0, ``#``
    alone gives ``""``), so the digits are ``chain[-1][1]``.  Inside a
    :class:`SubMenu` the pair comes after the menus' ``(subMenu, key)``
    pairs.  With *onSuccess*, the result is what ``onSuccess(agi, chain)``
    returns instead (it receives the chain, not the digits).
    *textPrompt* (upstream's field) describes the prompt as text; it is
    never played.
    """

    soundFile: Tuple[Prompt, ...] = attrs.field(converter=soundFileField)
    maxDigits: Optional[int] = None
    minDigits: int = 1
    timeout: float = 5.0
    tellInvalid: bool = True
    invalidPrompt: Tuple[Prompt, ...] = attrs.field(default=INVALID_PROMPT,
                                                    converter=invalidPromptField)
    maxRepetitions: int = 5
    confirm: bool = False
    reviewPrompt: Tuple[Prompt, ...] = attrs.field(default="you-entered",
                                                   converter=reviewPromptField)
    confirmPrompt: Tuple[Prompt, ...] = attrs.field(default=("if-correct-press", "digits/1"),
                                                    converter=confirmPromptField)
    confirmKey: str = "1"
    onSuccess: Optional[Callable[..., Any]] = None
    onFailure: Optional[Callable[..., Any]] = None
    textPrompt: Optional[str] = None
    readBack: bool = False

    def __attrs_post_init__(self) -> None:
        _checkDigitEntry(self)
        checkBool(self.confirm, "confirm")
        checkBool(self.readBack, "readBack")
        checkKeys(self.confirmKey, "confirmKey")
        if len(self.confirmKey) != 1:
            raise error.MenuDefinitionError("must be one key, not %r" % (self.confirmKey,),
                                            "confirmKey")

    async def _review(self, agi: AGISession, entry: str) -> Optional[str]:
        said: Tuple[Prompt, ...] = (DigitsPrompt(entry),) if entry else ()
        key = await playPrompt(agi, self.reviewPrompt + said + self.confirmPrompt, DTMF_KEYS)
        if key is None:
            key = keyPressed(await awaitCommand(agi, agi.waitForDigit(self.timeout)))
        return key

    async def _run(self, agi: AGISession) -> Outcome:
        attempts = Attempts(self, self.maxRepetitions)
        while True:
            entry, timedOut = await _collect(agi, self.soundFile, self.timeout, self.maxDigits)
            if timedOut or len(entry) < self.minDigits:
                if not timedOut and self.tellInvalid:
                    await playPrompt(agi, self.invalidPrompt, "")
                attempts.fail("timeout" if timedOut else "invalid", entry)
                continue
            if not self.confirm:
                if self.readBack and entry:
                    await playPrompt(agi, (DigitsPrompt(entry),), "")
                return [(self, entry)]
            key = None
            while key is None:
                key = await self._review(agi, entry)
                if key is None:
                    attempts.fail("timeout")
            if key == self.confirmKey:
                return [(self, entry)]
            log.debug("%r: the caller enters it again", self)


@attrs.frozen(kw_only=True)
class CollectPassword(InteractionBase):
    """Ask for a password and check it.

    Entry works as in :class:`CollectDigits` (``#`` ends it).  *expected*
    is the password, or a callable ``expected(agi, entry)`` returning (a
    Deferred of) a bool, for example to look it up in a database.  A wrong
    password plays *invalidPrompt* (with *tellInvalid*) and asks again;
    when repetitions run out the Deferred fails with
    :class:`MenuUnexpectedOption <starpy.error.MenuUnexpectedOption>`.  The password never
    appears in logs or in the model's repr: while it is collected, the
    session's replies are hidden from its command history (so from a
    failure report) and from the wire trace
    (:meth:`maskingReplies <starpy.agi.AGISession.maskingReplies>`).

    As in upstream StarPy, *expected* may instead be given when it runs:
    ``collectPassword(agi, "4321")``, and an entry holding one of
    *escapeDigits* (``"*"``, say) cancels the entry: the Deferred fails with
    :class:`MenuExit <starpy.error.MenuExit>`.

    The result is ``[(collectPassword, entry)]``.
    """

    expected: Union[str, Callable[..., Any], None] = attrs.field(default=None, repr=False)
    soundFile: Tuple[Prompt, ...] = attrs.field(default="agent-pass", converter=soundFileField)
    maxDigits: Optional[int] = None
    minDigits: int = 1
    timeout: float = 5.0
    tellInvalid: bool = True
    invalidPrompt: Tuple[Prompt, ...] = attrs.field(default="auth-incorrect",
                                                    converter=invalidPromptField)
    maxRepetitions: int = 2
    onSuccess: Optional[Callable[..., Any]] = None
    onFailure: Optional[Callable[..., Any]] = None
    textPrompt: Optional[str] = None
    escapeDigits: str = ""

    def __attrs_post_init__(self) -> None:
        if self.escapeDigits:
            checkKeys(self.escapeDigits, "escapeDigits")
            if "#" in self.escapeDigits:
                raise error.MenuDefinitionError("'#' ends the entry: it cannot cancel it",
                                                "escapeDigits")
        if self.expected is not None and not callable(self.expected):
            checkKeys(self.expected, "expected")
            if "#" in self.expected:
                raise error.MenuDefinitionError("'#' ends the entry: it cannot be part of a "
                                                "password", "expected")
        _checkDigitEntry(self)

    def __call__(self, agi: AGISession,
                 expected: Union[str, Callable[..., Any], None] = None) -> Deferred[Any]:
        """Run it on *agi* (see :meth:`Menu.__call__ <starpy.menu.Menu.__call__>`).

        :param expected: the password for this run (upstream StarPy's way),
            in place of the model's *expected*.
        :raise starpy.error.MenuDefinitionError: *expected* is not a
            password (checked before anything is sent).
        """
        if expected is None:
            return InteractionBase.__call__(self, agi)
        return InteractionBase.__call__(attrs.evolve(self, expected=expected), agi)

    async def _matches(self, agi: AGISession, entry: str) -> bool:
        expected = self.expected
        assert expected is not None  # checked by _run
        if callable(expected):
            return bool(await callHandler(expected, agi, entry))
        return hmac.compare_digest(entry.encode(), expected.encode())

    async def _run(self, agi: AGISession) -> Outcome:
        if self.expected is None:
            raise error.MenuDefinitionError(
                "no password to check: give expected= to CollectPassword, or call it as "
                "collectPassword(agi, expected)", "expected")
        # The replies while collecting spell the password (``200 result=52``
        # is key 4): keep them out of the history and the wire trace.
        with agi.maskingReplies():
            return await self._ask(agi)

    async def _ask(self, agi: AGISession) -> Outcome:
        attempts = Attempts(self, self.maxRepetitions)
        while True:
            entry, timedOut = await _collect(agi, self.soundFile, self.timeout, self.maxDigits)
            if timedOut:
                attempts.fail("timeout")
                continue
            if any(key in entry for key in self.escapeDigits):
                raise error.MenuExit("the caller cancelled the password entry")
            if len(entry) >= self.minDigits and await self._matches(agi, entry):
                return [(self, entry)]
            log.info("%s: wrong password entered", agi.channelName)
            if self.tellInvalid:
                await playPrompt(agi, self.invalidPrompt, "")
            attempts.fail("invalid")


# -- recordings --------------------------------------------------------------------------------


@runtime_checkable
class AudioFiles(Protocol):
    """What :class:`CollectAudio` does with a finished recording.

    Asterisk writes the recording on *its* host, as ``<name>.<extension>``
    (``RECORD FILE`` adds the extension of the format).  Both methods get
    the session, so an implementation may act through Asterisk itself
    (``EXEC``, which still runs after a hangup), or on a filesystem shared
    with it.  They may return a value, a Deferred or be ``async def``.
    Names are as given to ``RECORD FILE``: without extension, absolute or
    relative to Asterisk's sounds directory.
    """

    def moveIntoPlace(self, agi: AGISession, temporary: str, final: str, format: str) -> Any:
        """Move the recording *temporary* to *final* (replacing it)."""

    def discard(self, agi: AGISession, temporary: str, format: str) -> Any:
        """Delete the recording *temporary*, if it exists."""


#: File extensions of Asterisk formats whose extension is not their name.
_EXTENSIONS = {"wav49": "WAV"}


@attrs.frozen
class LocalFiles:
    """Move and delete recordings with local file operations.

    Right when StarPy runs on the Asterisk host (classic AGI, FastAGI on
    127.0.0.1) or shares the recordings' directory with it.  The move is a
    rename, atomic when both names are in one directory, which is where
    :class:`CollectAudio` puts its temporary file.

    :ivar soundsDirectory: where Asterisk puts relative names (its
        ``astdatadir`` + ``/sounds``).
    """

    soundsDirectory: str = "/var/lib/asterisk/sounds"

    def path(self, name: str, format: str) -> str:
        """The file Asterisk writes for recording *name* in *format*."""
        extension = _EXTENSIONS.get(format, format)
        return os.path.join(self.soundsDirectory, name) + "." + extension

    def moveIntoPlace(self, agi: AGISession, temporary: str, final: str, format: str) -> None:
        """``os.replace`` the temporary recording onto the final name."""
        os.replace(self.path(temporary, format), self.path(final, format))

    def discard(self, agi: AGISession, temporary: str, format: str) -> None:
        """Delete the temporary recording; a missing file is not an error."""
        try:
            os.remove(self.path(temporary, format))
        except FileNotFoundError:
            pass


def _temporaryName(final: str) -> str:
    return "%s.tmp-%s" % (final, secrets.token_hex(4))


@attrs.frozen
class CollectAudio(InteractionBase):
    """Record the caller into *filename*, safely.

    The prompt plays (an *endKeys* key skips it), then ``RECORD FILE``
    records into a temporary name beside *filename*, until an *endKeys*
    key, *maxDuration* seconds, or *silence* seconds of silence.  A
    recording shorter than *minDuration* is deleted and the caller asked
    again (with *invalidPrompt* if *tellInvalid*), at most *maxRepetitions*
    more times.  A kept recording is moved onto *filename* through *files*;
    on any failure (hangup, error, cancellation) the temporary recording is
    deleted through *files*, and *filename* is never touched.

    :ivar filename: the final name, as Asterisk takes it: no extension,
        absolute or relative to its sounds directory.
    :ivar format: Asterisk's format (``wav``, ``gsm``, ``wav49``...).
    :ivar sampleRate: samples per second of *format*, to turn Asterisk's
        end position into seconds.
    :ivar files: an :class:`AudioFiles`; :class:`LocalFiles` by default.

    Upstream StarPy's names are accepted too: *escapeDigits* for *endKeys*
    and *timeout* for *maxDuration* (give one of each pair); *temporaryFile*
    names the temporary recording (default: a fresh name beside
    *filename*); with *deleteOnFail* off, a failed or too short recording
    is kept under its temporary name instead of deleted.

    The result is ``[(collectAudio, filename)]``.
    """

    prompt: Tuple[Prompt, ...] = attrs.field(converter=promptField)
    filename: str
    format: str = "wav"
    maxDuration: float = 60.0
    silence: Optional[float] = None
    minDuration: float = 0.5
    beep: bool = True
    endKeys: str = "#"
    tellInvalid: bool = True
    invalidPrompt: Tuple[Prompt, ...] = attrs.field(default=INVALID_PROMPT,
                                                    converter=invalidPromptField)
    maxRepetitions: int = 2
    sampleRate: int = 8000
    files: AudioFiles = attrs.field(factory=LocalFiles)
    onSuccess: Optional[Callable[..., Any]] = None
    onFailure: Optional[Callable[..., Any]] = None
    textPrompt: Optional[str] = None
    escapeDigits: Optional[str] = None
    timeout: Optional[float] = None
    temporaryFile: Optional[str] = None
    deleteOnFail: bool = True

    @property
    def stopKeys(self) -> str:
        """The keys that end the recording: *escapeDigits* if given, else *endKeys*."""
        return self.endKeys if self.escapeDigits is None else self.escapeDigits

    @property
    def longest(self) -> float:
        """The longest recording: *timeout* if given, else *maxDuration*."""
        return self.maxDuration if self.timeout is None else self.timeout

    def __attrs_post_init__(self) -> None:
        if self.escapeDigits is not None and self.endKeys not in ("#", self.escapeDigits):
            raise error.MenuDefinitionError("give endKeys or its upstream name escapeDigits, "
                                            "not both", "escapeDigits")
        if self.timeout is not None and self.maxDuration not in (60.0, self.timeout):
            raise error.MenuDefinitionError("give maxDuration or its upstream name timeout, "
                                            "not both", "timeout")
        if self.temporaryFile is not None:
            checkText(self.temporaryFile, "temporaryFile")
            if self.temporaryFile == self.filename:
                raise error.MenuDefinitionError("must differ from filename", "temporaryFile")
        checkBool(self.deleteOnFail, "deleteOnFail")
        checkText(self.filename, "filename")
        checkText(self.format, "format")
        if any(char in self.format for char in "/. \t"):
            raise error.MenuDefinitionError("must be an Asterisk format name such as 'wav', "
                                            "not %r" % (self.format,), "format")
        checkSeconds(self.longest, "timeout" if self.timeout is not None else "maxDuration")
        if self.silence is not None:
            checkSeconds(self.silence, "silence")
        checkSeconds(self.minDuration, "minDuration", allowZero=True)
        if self.minDuration >= self.longest:
            raise error.MenuDefinitionError("must be less than maxDuration (%r), not %r"
                                            % (self.longest, self.minDuration), "minDuration")
        checkBool(self.beep, "beep")
        keys, name = ((self.endKeys, "endKeys") if self.escapeDigits is None
                      else (self.escapeDigits, "escapeDigits"))
        if keys:
            checkKeys(keys, name)
        else:
            checkText(keys, name, allowEmpty=True)
        checkBool(self.tellInvalid, "tellInvalid")
        checkCount(self.maxRepetitions, "maxRepetitions", 0)
        checkCount(self.sampleRate, "sampleRate", 1)
        if not isinstance(self.files, AudioFiles):
            raise error.MenuDefinitionError(
                "must have moveIntoPlace() and discard() (see AudioFiles), not %r"
                % (self.files,), "files")
        checkCallable(self.onSuccess, "onSuccess")
        checkCallable(self.onFailure, "onFailure")
        checkTextPrompt(self.textPrompt)

    async def _discard(self, agi: AGISession, temporary: str) -> None:
        if not self.deleteOnFail:
            log.info("keeping the failed recording %r (deleteOnFail is off)", temporary)
            return
        try:
            await callHandler(self.files.discard, agi, temporary, self.format)
        except Exception:
            log.exception("could not delete the temporary recording %r", temporary)

    async def _record(self, agi: AGISession, temporary: str) -> float:
        """Record into *temporary*; return the seconds recorded."""
        try:
            code, how, endpos = await awaitCommand(agi, agi.recordFile(
                temporary, self.format, self.stopKeys, self.longest, beep=self.beep,
                silence=self.silence))
            if code < 0:  # "-1 (hangup)": a result of RECORD FILE, not a failure
                raise error.AGIHangup("RECORD FILE " + temporary, 200,
                                      "the channel hung up while recording (%s)" % (how,))
        except BaseException:
            await self._discard(agi, temporary)
            raise
        log.debug("recorded %r: %s, endpos %s", temporary, how, endpos)
        return (endpos or 0) / self.sampleRate

    async def _run(self, agi: AGISession) -> Outcome:
        attempts = Attempts(self, self.maxRepetitions)
        while True:
            await playPrompt(agi, self.prompt, self.stopKeys)
            temporary = self.temporaryFile or _temporaryName(self.filename)
            seconds = await self._record(agi, temporary)
            if seconds < self.minDuration:
                await self._discard(agi, temporary)
                if self.tellInvalid:
                    await playPrompt(agi, self.invalidPrompt, "")
                attempts.fail("invalid", "%.2f s" % (seconds,))
                continue
            try:
                await callHandler(self.files.moveIntoPlace, agi, temporary, self.filename,
                                  self.format)
            except BaseException:
                await self._discard(agi, temporary)
                raise
            return [(self, self.filename)]
