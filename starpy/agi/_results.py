"""What AGI replies become: :class:`AGIResponse`, digit codes, speech results,
the conversions of the command methods, and upstream StarPy's result helpers.

Private to :mod:`starpy.agi`, which re-exports the public names.
"""
from __future__ import annotations

import logging
import time as _time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from starpy import error
from starpy.agi._arguments import epochSeconds
from starpy.codec.agi import (
    AGIReply,
    usualCodeAndEndpos,
    usualData,
    usualExecText,
    usualResultInt,
)

__all__ = ["AGIResponse", "SpeechResult", "SpeechRecognition", "digitChar", "maskReply",
           "upstreamText", "resultInt", "replyInt", "endposOf", "codeAndEndpos", "failUnless",
           "variableValue", "databaseValue", "valueOrNone", "timeoutFlag", "speechRecognition",
           "UpstreamResultHelpers", "execResult", "LINE_CONVERSIONS", "lineConversion", "failureText"]

log = logging.getLogger("starpy.agi")


def maskReply(reply: str) -> str:
    """A reply with everything after its status code hidden (notes kept)."""
    if reply[:3].isdigit():
        return reply[:3] + " (reply hidden)"
    return reply


def failureText(transportName: str, channelName: str, variables: Dict[str, str],
                history: Iterable[Tuple[str, str]], reason: Any) -> str:
    """The text of :meth:`AGISession.failureReport
    <starpy.agi.AGISession.failureReport>`: *reason*'s traceback, the
    environment, the last commands and their replies."""
    lines = ["%s handler failed on %s" % (transportName, channelName),
             reason.getTraceback().rstrip(),
             "AGI environment:"]
    lines.extend("  %s: %s" % item for item in sorted(variables.items()))
    commands = list(history)
    lines.append("Last %d command(s), oldest first:" % (len(commands),))
    for line, reply in commands:
        lines.append("  >> %s" % (line,))
        lines.extend("  << %s" % (part,) for part in reply.split("\n"))
    if not commands:
        lines.append("  (none)")
    return "\n".join(lines)


def digitChar(code: Union[int, str]) -> str:
    """The character of a digit code as AGI commands return it.

    The commands that read a key (``waitForDigit``, ``streamFile``,
    ``sayNumber``, ``recordFile``...) fire, as upstream StarPy's did, with
    the key's ASCII code, and ``0`` when no key was pressed.  ::

        digitChar(49) == "1";  digitChar(35) == "#";  digitChar(0) == ""

    :param code: the code, as an int or a string of digits
        (``receiveChar`` gives ``"65"``).
    :return: the one-character string, or ``""`` for ``0``.
    :raises ValueError: *code* is negative or not a character code.
    """
    number = int(code)
    if number < 0:
        raise ValueError("not a digit code: %r" % (code,))
    return chr(number) if number else ""


class AGIResponse(str):
    """What :meth:`AGISession.sendCommand` fires with: upstream's result text,
    and the parsed reply.

    As a string it is what upstream StarPy's ``sendCommand`` fired with: the
    reply line after ``200 result=`` (``"1 (value)"``, ``"0 endpos=1234"``),
    so upstream code that splits it, or passes it to
    :meth:`AGISession.checkFailure`, :meth:`AGISession.resultAsInt` and the
    other helpers, keeps working.  The parsed
    :class:`AGIReply <starpy.codec.agi.AGIReply>` is :attr:`reply`, and its fields
    are readable here too (``response.result``, ``response.extra``...).
    """

    reply: AGIReply

    def __new__(cls, reply: AGIReply) -> "AGIResponse":
        self = super().__new__(cls, upstreamText(reply))
        self.reply = reply
        return self

    @property
    def code(self) -> int:
        """The reply's status code (200...)."""
        return self.reply.code

    @property
    def result(self) -> Optional[str]:
        """The text after ``result=`` (see :class:`AGIReply <starpy.codec.agi.AGIReply>`)."""
        return self.reply.result

    @property
    def data(self) -> Optional[str]:
        """The text in parentheses after the result, or ``None``."""
        return self.reply.data

    @property
    def extra(self) -> Dict[str, str]:
        """The ``key=value`` pairs after the result (``endpos``...)."""
        return self.reply.extra

    @property
    def text(self) -> str:
        """Free text after the result (``"Gosub complete"``)."""
        return self.reply.text

    @property
    def usage(self) -> str:
        """The usage text of a ``520`` reply (else ``""``)."""
        return self.reply.usage

    @property
    def raw(self) -> str:
        """The reply as received."""
        return self.reply.raw

    @property
    def interim(self) -> Tuple[str, ...]:
        """The interim ``100`` lines that preceded the reply."""
        return self.reply.interim

    def resultAsInt(self) -> int:
        """The result as an int (see :meth:`resultAsInt <starpy.codec.agi.AGIReply.resultAsInt>`)."""
        return self.reply.resultAsInt()


def upstreamText(reply: Union[AGIReply, str]) -> str:
    """A reply as upstream StarPy's helpers took it: the text after ``200 result=``."""
    if isinstance(reply, str):
        return reply
    line = reply.raw.rstrip("\r\n").split("\n")[-1]
    if line[:4] == "200 ":
        line = line[4:]
        if line[:7].lower() == "result=":
            line = line[7:]
        return line
    if reply.result is not None:  # built without raw text (tests, AsyncAGI)
        parts = [reply.result]
        if reply.data is not None:
            parts.append("(%s)" % (reply.data,))
        parts.extend("%s=%s" % item for item in reply.extra.items())
        if reply.text:
            parts.append(reply.text)
        return " ".join(parts)
    return line


def resultInt(reply: AGIReply) -> int:
    try:
        return int(reply.result)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return reply.resultAsInt()  # raises the error that names the reply


def replyInt(reply: AGIReply, text: str) -> int:
    """*text*, a number in *reply*, as an int; AGIReplyError if it is not one."""
    try:
        return int(text)
    except ValueError:
        raise error.AGIReplyError("not a number: %r in %r" % (text, reply.raw),
                                  reply=reply.raw) from None


def endposOf(reply: AGIReply) -> Optional[int]:
    value = reply.extra.get("endpos")
    return None if value is None else replyInt(reply, value)


def codeAndEndpos(reply: AGIReply) -> Tuple[int, Optional[int]]:
    return reply.resultAsInt(), endposOf(reply)


def failUnless(reply: AGIReply, command: str, accepted: int = 1) -> AGIReply:
    """Fail with AGICommandFailure unless the result is *accepted*."""
    if reply.result != str(accepted):
        raise error.AGICommandFailure(command, reply.code, reply.raw)
    return reply


def variableValue(reply: AGIReply) -> str:
    """GET VARIABLE's value; AGICommandFailure unless the result is 1."""
    failUnless(reply, "GET VARIABLE")
    return reply.data if reply.data is not None else ""


def databaseValue(reply: AGIReply) -> str:
    """DATABASE GET's value; AGICommandFailure unless the result is 1."""
    failUnless(reply, "DATABASE GET")
    return reply.data if reply.data is not None else ""


def execResult(application: str, reply: AGIReply) -> str:
    """EXEC's result: upstream's text of the reply; AGICommandFailure if
    there is no such *application* (-2)."""
    if reply.result == "-2":
        raise error.AGICommandFailure(
            "EXEC " + application, 200, "no such application: " + reply.raw)
    return upstreamText(reply)


def valueOrNone(reply: AGIReply) -> Optional[str]:
    if reply.result == "1":
        return reply.data if reply.data is not None else ""
    return None


#: The usual replies of the most used conversions, read from the reply line
#: itself by the codec's line readers: ``convert`` to a function of the line
#: (``200 result=...``, no CR) and *failOnMinusOne*, giving what
#: ``convert(parseUsualReply(line))`` gives after the session's checks, or
#: ``None`` for a line of another form.  No reply
#: object, no parse: 1,000 reference W3 sessions in ``bench/w3_driver.py``
#: went from 844 to 812 M instructions with the reply path that uses these
#: (bench/RESULTS.md).
LINE_CONVERSIONS: Dict[Any, Callable[[str, bool], Any]] = {
    resultInt: usualResultInt,
    variableValue: usualData,
    databaseValue: usualData,
    codeAndEndpos: usualCodeAndEndpos,
    execResult: usualExecText,  # given as partial(execResult, application)
}

#: ``LINE_CONVERSIONS.get``, bound once (see ``cachedLine`` in
#: :mod:`starpy.agi._arguments`).
lineConversion = LINE_CONVERSIONS.get


def timeoutFlag(reply: Union[AGIReply, str]) -> Tuple[str, bool]:
    """Upstream's ``resultPlusTimeoutFlag``: the result, and whether anything
    (Asterisk's ``(timeout)``) follows it."""
    text = upstreamText(reply)
    head, space, rest = text.partition(" ")
    if space:
        return head.strip(), True
    return text.strip(), False


@dataclass(frozen=True)
class SpeechResult:
    """One recognition of SPEECH RECOGNIZE: score, text and grammar."""

    score: int
    text: str
    grammar: str


@dataclass(frozen=True)
class SpeechRecognition:
    """What SPEECH RECOGNIZE reported.

    :ivar reason: ``"speech"``, ``"digit"``, ``"timeout"`` (Asterisk's word).
    :ivar endpos: where the prompt stopped, in samples, or ``None``.
    :ivar digit: the DTMF digit that ended it (reason ``"digit"``), else ``None``.
    :ivar results: the recognitions, best first as Asterisk lists them.
    """

    reason: str
    endpos: Optional[int]
    digit: Optional[str] = None
    results: List[SpeechResult] = field(default_factory=list)


def speechRecognition(reply: AGIReply) -> SpeechRecognition:
    extra = reply.extra
    # No more results than the reply has keys: a hostile count costs nothing.
    count = min(replyInt(reply, extra.get("results", "0") or "0"), len(extra))
    results = [
        SpeechResult(
            score=replyInt(reply, extra.get("score%d" % index, "0") or "0"),
            text=extra.get("text%d" % index, ""),
            grammar=extra.get("grammar%d" % index, ""),
        )
        for index in range(count)
    ]
    digit = extra.get("digit") or None
    return SpeechRecognition(
        reason=reply.data or "", endpos=endposOf(reply), digit=digit, results=results
    )




class UpstreamResultHelpers:
    """Upstream StarPy's result helpers, methods of every
    :class:`AGISession <starpy.agi.AGISession>`.

    Upstream's command methods were built from these; upstream code that
    sends its own commands (``sendCommand``) chains them the same way.  Each
    takes upstream's string (the reply after ``200 result=``) or a reply of
    this library (:class:`AGIResponse`, :class:`AGIReply <starpy.codec.agi.AGIReply>`).
    """

    def checkFailure(self, result: Union[str, AGIReply], failure: str = "-1") -> Any:
        """Return *result* unchanged unless its result code is *failure*.

        :raises AGICommandFailure: the code (the first word) is *failure*.
        """
        text = upstreamText(result)
        if text.split(" ", 1)[0].strip() == failure:
            raise error.AGICommandFailure(None, 200, "result=%s" % (text,))
        return result

    def resultAsInt(self, result: Union[str, AGIReply]) -> int:
        """The result code as an int (``"0"`` gives ``0``).

        :raises AGICommandFailure: the result is not a bare number.
        """
        text = upstreamText(result)
        try:
            return int(text.strip())
        except ValueError:
            raise error.AGICommandFailure(None, 200, "result=%s is not a number" % (text,)) \
                from None

    def secondResultItem(self, result: Union[str, AGIReply]) -> str:
        """What follows the result code: ``"1 (value)"`` gives ``"(value)"``.

        :raises IndexError: nothing follows it.
        """
        return upstreamText(result).split(" ", 1)[1]

    def resultPlusTimeoutFlag(self, resultLine: Union[str, AGIReply]) -> Tuple[str, bool]:
        """``(result, timedOut)``: ``"123 (timeout)"`` gives ``("123", True)``,
        ``"123"`` gives ``("123", False)``."""
        return timeoutFlag(resultLine)

    def dateAsSeconds(self, date: Any) -> int:
        """A datetime, date, struct_time or number as epoch seconds, as the
        SAY DATE/TIME/DATETIME commands take them.

        A timezone-aware datetime gives its own instant (upstream read its
        fields as local time); a naive one is local time.
        """
        if not hasattr(date, "timestamp") and hasattr(date, "timetuple"):
            return int(_time.mktime(date.timetuple()))  # a date
        return epochSeconds(date)

    def onRecordingComplete(self, resultLine: Union[str, AGIReply]) -> Tuple[int, str, int]:
        """Read a RECORD FILE result: ``"35 (dtmf) endpos=8000"`` gives
        ``(35, "dtmf", 8000)``.

        :raises ValueError: the result does not have that form.
        """
        text = upstreamText(resultLine)
        parts = text.split(" ", 2)
        if len(parts) == 3 and parts[2].strip().startswith("endpos="):
            try:
                return int(parts[0]), parts[1].strip("()"), int(parts[2].strip()[7:])
            except ValueError:
                pass
        raise error.AGIReplyError("unexpected RECORD FILE result: %r" % (text,), reply=text)

    def onStreamingComplete(self, resultLine: Union[str, AGIReply],
                            skipMS: int = 0) -> Tuple[int, int]:
        """Read a STREAM FILE result: ``"35 endpos=100"`` gives ``(35, 100)``.

        As upstream's, it takes an end position equal to the start
        (*skipMS*) as a file that did not play.

        :raises AGICommandFailure: the end position is *skipMS*.
        :raises ValueError: the result does not have that form.
        """
        text = upstreamText(resultLine)
        parts = text.split(" ", 1)
        if len(parts) == 2 and parts[1].strip().startswith("endpos="):
            try:
                digit, endpos = int(parts[0]), int(parts[1].strip()[7:])
            except ValueError:
                pass
            else:
                if endpos == skipMS:
                    raise error.AGICommandFailure(
                        None, 200, "end position %d is the start position, result %d"
                        % (endpos, digit))
                return digit, endpos
        raise error.AGIReplyError("unexpected STREAM FILE result: %r" % (text,), reply=text)

    def onControlStreamFileComplete(
        self, resultLine: Union[str, AGIReply]
    ) -> Tuple[int, Optional[int]]:
        """Read a CONTROL STREAM FILE result: ``"35 endpos=100"`` gives
        ``(35, 100)``, ``"0"`` gives ``(0, None)``."""
        text = upstreamText(resultLine)
        parts = text.split(" ", 1)
        endpos = None
        if len(parts) == 2:
            rest = parts[1].strip()
            if rest.startswith("endpos="):
                endpos = int(rest[7:])
            else:
                log.error("unexpected CONTROL STREAM FILE result: %r", text)
        return int(parts[0]), endpos
