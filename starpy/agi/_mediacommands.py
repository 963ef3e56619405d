"""The AGI commands that play, say, record, read digits and recognise speech.

:class:`MediaCommands` is a part of :class:`AGISession <starpy.agi.AGISession>`.
Private to :mod:`starpy.agi`.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple, Union

from twisted.internet import defer
from twisted.internet.defer import Deferred

from starpy import error
from starpy.agi._arguments import (
    DEFAULT_DATETIME_FORMAT,
    Digits,
    digitsArgument,
    epochSeconds,
    toMilliseconds,
)
from starpy.agi._results import (
    SpeechRecognition,
    codeAndEndpos,
    digitChar,
    endposOf,
    failUnless,
    resultInt,
    speechRecognition,
    timeoutFlag,
)
from starpy.codec.agi import AGIReply, Argument

__all__ = ["MediaCommands"]


class MediaCommands:
    """STREAM FILE, the SAY commands, digits, recording, text and speech
    (see :class:`AGISession <starpy.agi.AGISession>`)."""

    def _command(self, convert: Optional[Callable[[AGIReply], Any]], command: str,
                 *arguments: Argument, failOnMinusOne: bool = True) -> Deferred[Any]:
        """Send *command* with *arguments*; check the reply, then pass it
        through *convert* (the session's; see
        :class:`AGISession <starpy.agi.AGISession>`)."""
        raise NotImplementedError

    def sayXXX(self, baseCommand: str, value: Argument,
               escapeDigits: Digits = "") -> Deferred[int]:
        """Send one of the SAY commands: ``baseCommand value escapeDigits``.

        :return: as :meth:`sayAlpha`.
        """
        return self._command(resultInt, baseCommand, value, digitsArgument(escapeDigits))

    def controlStreamFile(
        self,
        filename: str,
        escapeDigits: Digits = "",
        skipMS: Optional[int] = None,
        ffChar: str = "*",
        rewChar: str = "#",
        pauseChar: Optional[str] = None,
        offset: Optional[float] = None,
        *,
        skip: Optional[float] = None,
    ) -> Deferred[Tuple[int, Optional[int]]]:
        """CONTROL STREAM FILE: play *filename* with fast-forward, rewind and pause keys.

        :param skipMS: milliseconds skipped by the fast-forward and rewind
            keys (upstream's name and unit); 3000, Asterisk's default, when
            neither it nor *skip* is given.
        :param skip: the same in seconds (an alias of *skipMS*; give one).
        :param offset: seconds into the file to start at (Asterisk's offsetms).
        :return: Deferred firing with ``(digit, endpos)``: the ASCII code of
            the escape digit pressed or ``0`` (see :func:`digitChar`), and
            the end position in samples (``None`` if Asterisk did not say).
            Fails with AGICommandFailure on error or hangup (-1).
        """
        if skipMS is not None and skip is not None:
            return defer.fail(TypeError("give skipMS or skip, not both"))
        if skip is not None:
            skipMS = toMilliseconds(skip)
        arguments: List[Argument] = [
            filename,
            digitsArgument(escapeDigits),
            3000 if skipMS is None else int(skipMS),
            ffChar,
            rewChar,
        ]
        if pauseChar is not None or offset is not None:
            arguments.append(pauseChar or "")
        if offset is not None:
            arguments.append(toMilliseconds(offset))
        return self._command(codeAndEndpos, "CONTROL STREAM FILE", *arguments)

    def getData(
        self, filename: str, timeout: float = 2.0, maxDigits: Optional[int] = None
    ) -> Deferred[Tuple[str, bool]]:
        """GET DATA: play *filename* and collect DTMF digits.

        :param timeout: seconds to wait for each digit after the prompt.
        :param maxDigits: the most digits to collect (Asterisk's default if
            ``None``).
        :return: Deferred firing with ``(digits, timedOut)``: the digits
            entered (possibly ``""``) and whether Asterisk added anything
            after them (its ``(timeout)``), as upstream StarPy read it.
            Fails with AGICommandFailure on error or hangup (-1).
        """
        arguments: List[Argument] = [filename, toMilliseconds(timeout)]
        if maxDigits is not None:
            arguments.append(int(maxDigits))

        return self._command(timeoutFlag, "GET DATA", *arguments)

    def getOption(
        self, filename: str, escapeDigits: Digits = "", timeout: Optional[float] = None
    ) -> Deferred[Tuple[str, Optional[int]]]:
        """GET OPTION: play *filename*, then wait up to *timeout* seconds for one digit.

        :return: Deferred firing with ``(digit, endpos)``: the digit as a
            one-character string, ``""`` if none was pressed (upstream
            StarPy's shape, unlike the digit codes of :meth:`streamFile`),
            and the end position in samples.  Fails with AGICommandFailure
            on error or hangup (-1).
        """
        arguments: List[Argument] = [filename, digitsArgument(escapeDigits)]
        if timeout is not None:
            arguments.append(toMilliseconds(timeout))

        def option(reply: AGIReply) -> Tuple[str, Optional[int]]:
            return digitChar(reply.resultAsInt()), endposOf(reply)

        return self._command(option, "GET OPTION", *arguments)

    def receiveChar(self, timeout: Optional[float] = None) -> Deferred[Tuple[str, bool]]:
        """RECEIVE CHAR: receive one character of text (few channels support it).

        :param timeout: seconds to wait, ``None`` to wait forever.
        :return: Deferred firing, as upstream StarPy's did, with
            ``(code, timedOut)``: the character's code as a string (``"65"``
            for ``"A"``, ``"0"`` when nothing came; :func:`digitChar` turns
            it into the character) and whether Asterisk added ``(timeout)``.
            Fails with AGICommandFailure on error or hangup (-1).
        """
        milliseconds = 0 if timeout is None else toMilliseconds(timeout)
        return self._command(timeoutFlag, "RECEIVE CHAR", milliseconds)

    def receiveText(self, timeout: Optional[float] = None) -> Deferred[str]:
        """RECEIVE TEXT: receive a text message (few channels support it).

        :param timeout: seconds to wait, ``None`` to wait forever.
        :return: Deferred firing with the text (``"hello"`` for
            ``200 result=1 (hello)``; upstream fired with ``"1 (hello)"``);
            fails with AGICommandFailure on error, hangup or timeout (-1).
        """
        milliseconds = 0 if timeout is None else toMilliseconds(timeout)

        def text(reply: AGIReply) -> str:
            return reply.data if reply.data is not None else ""

        return self._command(text, "RECEIVE TEXT", milliseconds)

    def recordFile(
        self,
        filename: str,
        format: str,
        escapeDigits: Digits,
        timeout: float = -1,
        offsetSamples: Optional[int] = None,
        beep: bool = True,
        silence: Optional[float] = None,
    ) -> Deferred[Tuple[int, str, int]]:
        """RECORD FILE: record the caller into *filename* (*format*: wav, gsm...).

        :param escapeDigits: digits that end the recording.
        :param timeout: most seconds to record; negative for no limit.
        :param offsetSamples: samples into an existing file to start at.
        :param beep: play a beep first.
        :param silence: end after this many seconds of silence.
        :return: Deferred firing with ``(code, exitType, endpos)`` as
            upstream StarPy's did: Asterisk's result (the ASCII code of the
            digit that ended it for ``"dtmf"``, ``0`` for ``"timeout"``,
            ``-1`` for ``"hangup"``: a hangup while recording is a result,
            not a failure), its reason, and the end position in samples.
            Fails with AGICommandFailure when Asterisk gives no end position
            (it could not write the file, ``-1 (writefile)``).
        """
        arguments: List[Argument] = [
            filename,
            format,
            digitsArgument(escapeDigits),
            toMilliseconds(timeout),
        ]
        if offsetSamples is not None:
            arguments.append(int(offsetSamples))
        if beep:
            arguments.append("BEEP")
        if silence is not None:
            arguments.append("s=%d" % (int(round(silence)),))

        def outcome(reply: AGIReply) -> Tuple[int, str, int]:
            endpos = endposOf(reply)
            if endpos is None:
                raise error.AGICommandFailure("RECORD FILE " + filename, reply.code, reply.raw)
            return reply.resultAsInt(), reply.data or "", endpos

        return self._command(outcome, "RECORD FILE", *arguments, failOnMinusOne=False)

    def _say(self, command: str, value: Argument, escapeDigits: Digits,
             *more: Argument) -> Deferred[int]:
        return self._command(resultInt, command, value, digitsArgument(escapeDigits), *more)

    def sayAlpha(self, string: str, escapeDigits: Digits = "") -> Deferred[int]:
        """SAY ALPHA: spell *string* letter by letter.

        :return: Deferred firing with the ASCII code of the escape digit
            pressed, or ``0`` (see :func:`digitChar`); fails with
            AGICommandFailure on error or hangup (-1).
        """
        return self._say("SAY ALPHA", string, escapeDigits)

    def sayDate(self, date: Any, escapeDigits: Digits = "") -> Deferred[int]:
        """SAY DATE: say the date of *date* (epoch seconds, datetime or struct_time).

        :return: as :meth:`sayAlpha`.
        """
        return self._say("SAY DATE", epochSeconds(date), escapeDigits)

    def sayDateTime(
        self,
        time: Any,
        escapeDigits: Digits = "",
        format: Optional[str] = None,
        timezone: Optional[str] = None,
    ) -> Deferred[int]:
        """SAY DATETIME: say *time* (epoch seconds, datetime or struct_time).

        :param format: Asterisk's say format (``"ABdY 'digits/at' IMp"``
            by default).
        :param timezone: a zone name from ``/usr/share/zoneinfo``.
        :return: as :meth:`sayAlpha`.
        """
        more: List[Argument] = []
        if format is not None or timezone is not None:
            more.append(format if format is not None else DEFAULT_DATETIME_FORMAT)
        if timezone is not None:
            more.append(timezone)
        return self._say("SAY DATETIME", epochSeconds(time), escapeDigits, *more)

    def sayDigits(
        self, number: Union[int, str], escapeDigits: Digits = ""
    ) -> Deferred[int]:
        """SAY DIGITS: say *number* digit by digit.

        :return: as :meth:`sayAlpha`.
        """
        return self._say("SAY DIGITS", str(number), escapeDigits)

    def sayNumber(
        self, number: Union[int, str], escapeDigits: Digits = "", gender: Optional[str] = None
    ) -> Deferred[int]:
        """SAY NUMBER: say *number* as a number ("forty-two").

        :param gender: Asterisk's gender for languages that need it
            (``"m"``, ``"f"``, ``"n"``, ``"c"``).
        :return: as :meth:`sayAlpha`.
        """
        if gender is None:
            return self._say("SAY NUMBER", str(number), escapeDigits)
        return self._say("SAY NUMBER", str(number), escapeDigits, gender)

    def sayPhonetic(self, string: str, escapeDigits: Digits = "") -> Deferred[int]:
        """SAY PHONETIC: spell *string* with the phonetic alphabet.

        :return: as :meth:`sayAlpha`.
        """
        return self._say("SAY PHONETIC", string, escapeDigits)

    def sayTime(self, time: Any, escapeDigits: Digits = "") -> Deferred[int]:
        """SAY TIME: say the time of day of *time* (epoch seconds, datetime or struct_time).

        :return: as :meth:`sayAlpha`.
        """
        return self._say("SAY TIME", epochSeconds(time), escapeDigits)

    def sendImage(self, filename: str) -> Deferred[int]:
        """SEND IMAGE: send an image (few channels support it).

        :return: Deferred firing with the result code (0); fails with
            AGICommandFailure on error or hangup (-1).
        """
        return self._command(resultInt, "SEND IMAGE", filename)

    def sendText(self, text: str) -> Deferred[int]:
        """SEND TEXT: send a text message (few channels support it).

        :return: Deferred firing with the result code (0); fails with
            AGICommandFailure on error or hangup (-1).
        """
        return self._command(resultInt, "SEND TEXT", text)

    def _speech(self, command: str, *arguments: Argument) -> Deferred[int]:
        return self._command(None, command, *arguments).addCallback(
            failUnless, command).addCallback(resultInt)

    def speechCreate(self, engine: str) -> Deferred[int]:
        """SPEECH CREATE: create a speech recognition object with *engine*.

        :return: Deferred firing with 1; fails with AGICommandFailure if it
            could not be created (result 0).
        """
        return self._speech("SPEECH CREATE", engine)

    def speechSet(self, name: str, value: str) -> Deferred[int]:
        """SPEECH SET: set an engine setting.

        :return: Deferred firing with 1; fails with AGICommandFailure (0).
        """
        return self._speech("SPEECH SET", name, value)

    def speechDestroy(self) -> Deferred[int]:
        """SPEECH DESTROY: destroy the speech object.

        :return: Deferred firing with 1; fails with AGICommandFailure (0).
        """
        return self._speech("SPEECH DESTROY")

    def speechLoadGrammar(self, name: str, path: str) -> Deferred[int]:
        """SPEECH LOAD GRAMMAR: load the grammar at *path* as *name*.

        :return: Deferred firing with 1; fails with AGICommandFailure (0).
        """
        return self._speech("SPEECH LOAD GRAMMAR", name, path)

    def speechUnloadGrammar(self, name: str) -> Deferred[int]:
        """SPEECH UNLOAD GRAMMAR: unload grammar *name*.

        :return: Deferred firing with 1; fails with AGICommandFailure (0).
        """
        return self._speech("SPEECH UNLOAD GRAMMAR", name)

    def speechActivateGrammar(self, name: str) -> Deferred[int]:
        """SPEECH ACTIVATE GRAMMAR: activate grammar *name*.

        :return: Deferred firing with 1; fails with AGICommandFailure (0).
        """
        return self._speech("SPEECH ACTIVATE GRAMMAR", name)

    def speechDeactivateGrammar(self, name: str) -> Deferred[int]:
        """SPEECH DEACTIVATE GRAMMAR: deactivate grammar *name*.

        :return: Deferred firing with 1; fails with AGICommandFailure (0).
        """
        return self._speech("SPEECH DEACTIVATE GRAMMAR", name)

    def speechRecognize(
        self, prompt: str, timeout: float, offset: Optional[int] = None
    ) -> Deferred[SpeechRecognition]:
        """SPEECH RECOGNIZE: play *prompt* and recognise speech for up to *timeout* seconds.

        :param offset: samples into the prompt to start at.
        :return: Deferred firing with a :class:`SpeechRecognition`; fails
            with AGICommandFailure if recognition could not run (0 or -1).
        """
        arguments: List[Argument] = [prompt, toMilliseconds(timeout)]
        if offset is not None:
            arguments.append(int(offset))
        line = "SPEECH RECOGNIZE"
        return self._command(None, line, *arguments).addCallback(
            failUnless, line).addCallback(speechRecognition)

    def streamFile(
        self, filename: str, escapeDigits: Digits = "", offset: Optional[int] = None
    ) -> Deferred[Tuple[int, Optional[int]]]:
        """STREAM FILE: play *filename* (no extension), stoppable by *escapeDigits*.

        :param offset: samples into the file to start at.
        :return: Deferred firing with ``(digit, endpos)``: the ASCII code of
            the escape digit pressed or ``0`` (see :func:`digitChar`), and
            the position playback stopped at, in samples.  Fails with
            AGICommandFailure if the file cannot be played or the channel
            hung up (-1).
        """
        if offset is None:
            return self._command(codeAndEndpos, "STREAM FILE", filename,
                                 digitsArgument(escapeDigits))
        return self._command(codeAndEndpos, "STREAM FILE", filename,
                             digitsArgument(escapeDigits), int(offset))

    def tddMode(self, on: Union[bool, str, None] = True) -> Deferred[int]:
        """TDD MODE: turn TDD on (True), off (False) or to "mate" (None).

        :return: Deferred firing with 1; fails with AGICommandFailure if the
            channel is not TDD-capable (0) or on error (-1).
        """
        if on is True:
            mode = "on"
        elif on is False:
            mode = "off"
        elif on is None:
            mode = "mate"
        else:
            mode = str(on)
        line = "TDD MODE"
        return self._command(None, line, mode).addCallback(failUnless, line).addCallback(
            resultInt)

    def waitForDigit(self, timeout: float) -> Deferred[int]:
        """WAIT FOR DIGIT: wait up to *timeout* seconds (negative: forever) for a digit.

        :return: Deferred firing with the digit's ASCII code (``49`` for
            ``"1"``, ``35`` for ``"#"``; :func:`digitChar` gives the
            character) or ``0`` on timeout; fails with AGICommandFailure on
            error or hangup (-1).
        """
        return self._command(resultInt, "WAIT FOR DIGIT", toMilliseconds(timeout))
