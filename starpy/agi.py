"""The AGI command API, one implementation for every transport.

:class:`AGISession` holds all the AGI commands of current Asterisk as
camelCase methods returning Deferreds (``answer``, ``streamFile``,
``getData``, ``sayDateTime``...), plus ``wait``, ``finish`` and
``jumpOnError``.  It also keeps the commands in order: one in flight, the
rest queued behind it (:meth:`AGISession.sendCommandLine`).  A transport
subclasses it
and provides only:

* :meth:`AGISession._transmit`: put one :class:`QueuedCommand` on the wire,
  then call :meth:`AGISession._commandDone` with its reply (or a failure);
* :meth:`AGISession.finish`: end the AGI session;
* calls to :meth:`AGISession.hangupReceived` when the channel hangs up, and
  when the session can carry no more commands, :meth:`AGISession._takePending`
  then :meth:`AGISession.sessionClosed` then
  :meth:`AGISession._failCommands`.

FastAGI (:mod:`starpy.fastagi`), classic AGI (:mod:`starpy.classicagi`) and
AsyncAGI over AMI all drive the same methods.

Conventions of every command:

* times are float seconds, sent to Asterisk in milliseconds;
* escape digits are a string (``"123#"``) or a list (``[1, 2, "#"]``);
* results have upstream StarPy's shapes: a DTMF digit comes back as its
  ASCII code (``49`` for ``"1"``, ``35`` for ``"#"``), ``0`` when no digit
  was pressed; :func:`digitChar` turns such a code into its character;
* the Deferred fails with :class:`AGICommandFailure <starpy.error.AGICommandFailure>` when
  Asterisk answers ``result=-1`` (except where a method says otherwise,
  as upstream StarPy did), :class:`AGIInvalidCommand <starpy.error.AGIInvalidCommand>`
  (510), :class:`AGIDeadChannel <starpy.error.AGIDeadChannel>` (511),
  :class:`AGIUsageError <starpy.error.AGIUsageError>` (520), and
  :class:`AGIHangup <starpy.error.AGIHangup>` when the channel hung up before a command
  that a dead channel refuses, or the session ended;
* arguments holding CR, LF or NUL, numbers that are not finite, and a
  command line longer than the connected Asterisk reads as one command
  (see :meth:`AGISession.sendCommandLine`) make the Deferred fail with
  ``ValueError`` before anything is sent (a NaN or infinite time
  raises that ``ValueError`` at once);
* a reply that does not fit its command (``200 result=abc``, a ``200``
  without ``result=``, ``endpos=abc``) fails with
  :class:`AGIReplyError <starpy.error.AGIReplyError>`.
"""
from __future__ import annotations

import functools
import logging
import math
import time as _time
from abc import ABC, abstractmethod
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Coroutine,
    Deque,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
)

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from starpy import error
from starpy.codec.agi import (
    AGI_BUFFER_SMALL,
    AGIReply,
    Argument,
    encodeCommandLine,
    formatCommand,
    maxCommandBytes,
)
from starpy.trace import WireTracer

__all__ = [
    "AGISession",
    "InSequence",
    "AGIResponse",
    "Digits",
    "digitChar",
    "DEAD_SAFE_COMMANDS",
    "SpeechResult",
    "SpeechRecognition",
    "callHandler",
    "runHandler",
    "QueuedCommand",
    "isDeadSafe",
    "Handler",
    "log",
]

log = logging.getLogger("starpy.agi")

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


def _keywordAliases(**aliases: str) -> Callable[[_F], _F]:
    """Accept older keyword names: ``@_keywordAliases(seconds="duration")``
    lets callers write ``seconds=`` for the parameter named ``duration``."""

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def call(*args: Any, **named: Any) -> Any:
            # The usual call, positional arguments only (with the GET VARIABLE
            # and DATABASE GET conversions made once, 898 to 891 M
            # instructions over 1,000 W3 sessions in bench/w3_driver.py).
            if not named:
                return function(*args)
            for old, new in aliases.items():
                if old in named:
                    if new in named:
                        raise TypeError("%s() got both %r and its alias %r"
                                        % (function.__name__, new, old))
                    named[new] = named.pop(old)
            return function(*args, **named)

        return cast(_F, call)

    return decorate

#: Escape digits: a string such as ``"0123456789*#"`` or a sequence of
#: digits (``[1, 2, "#"]``).
Digits = Union[str, Sequence[Union[str, int]], None]

#: The commands Asterisk still runs on a hung-up channel: exactly those
#: res_agi marks so.
DEAD_SAFE_COMMANDS = frozenset(
    [
        "SPEECH DESTROY",
        "SPEECH UNLOAD GRAMMAR",
        "GET VARIABLE",
        "GET FULL VARIABLE",
        "DATABASE GET",
        "DATABASE PUT",
        "DATABASE DEL",
        "DATABASE DELTREE",
        "VERBOSE",
        "NOOP",
        "SET VARIABLE",
        "EXEC",
        "ASYNCAGI BREAK",
    ]
)

#: Asterisk's default SAY DATETIME format, sent when only a zone is given.
_DEFAULT_DATETIME_FORMAT = "ABdY 'digits/at' IMp"


# -- helpers ---------------------------------------------------------------


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


def isDeadSafe(line: str) -> bool:
    """Whether the command *line* still runs on a hung-up channel
    (:data:`DEAD_SAFE_COMMANDS`)."""
    upper = line.upper()
    return any(upper == name or upper.startswith(name + " ") for name in DEAD_SAFE_COMMANDS)


class _Deadline:
    """The command timeout of a session: one deadline, for the one command
    in flight, checked by one timer that is re-armed only when it fires
    before the deadline of the command then in flight."""

    __slots__ = ("timeout", "deadline", "timer")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = 0.0
        self.timer: Optional[IDelayedCall] = None


class QueuedCommand:
    """A command line on its way: queued, in flight, then answered.

    :ivar line: the command line, without newline.
    :ivar deferred: fires with its :class:`AGIReply <starpy.codec.agi.AGIReply>`.
    :ivar tag: what the transport needs to recognise the reply (AsyncAGI's
        CommandID), or ``None``.
    :ivar data: the line's bytes as checked by
        :meth:`AGISession._encodeLine` (newline included), or ``None``.
    :ivar check: for a command sent by one of the session's command methods,
        ``(convert, failOnMinusOne)``: its reply is checked and converted
        (:meth:`AGISession._checkReply`) before ``deferred`` fires, which
        then fires with the converted value; ``None``: with the reply.
    """

    __slots__ = ("line", "deferred", "tag", "data", "check")

    def __init__(self, line: str, deferred: Deferred[AGIReply],
                 data: Optional[bytes] = None,
                 check: Optional[Tuple[Optional[Callable[[AGIReply], Any]], bool]] = None,
                 ) -> None:
        self.line = line
        self.deferred = deferred
        self.tag: Optional[str] = None
        self.data = data
        self.check = check


#: The command lines the command methods made, by ``(command, arguments)``,
#: with their bytes (see :meth:`AGISession._command`): the same few lines
#: are sent over and over, and quoting and checking each again cost 9% of
#: a W3 command (1,000 reference sessions in ``bench/w3_driver.py``: 1,056
#: to 967 M instructions, bench/RESULTS.md).  Only lines of plain
#: arguments (``str`` and ``int``) whose bytes fit every Asterisk's command
#: buffer; emptied when full, so it never holds more than ``_LINES_KEPT``.
_LINES: Dict[Tuple[str, Tuple[Any, ...]], Tuple[str, bytes]] = {}
_LINES_KEPT = 1024

#: The longest command bytes (newline included) that every Asterisk reads
#: as one command (:func:`maxCommandBytes <starpy.codec.agi.maxCommandBytes>` is 2047 or 8191).
_FITS_EVERY_ASTERISK = AGI_BUFFER_SMALL - 1


def _plainArguments(arguments: Tuple[Any, ...]) -> bool:
    """Whether every argument is exactly a ``str`` or an ``int`` (not a
    bool nor a float, which are equal to ints and quoted otherwise)."""
    for argument in arguments:
        kind = argument.__class__
        if kind is not str and kind is not int:
            return False
    return True


#: A call handler: called with the session once the call's environment is
#: known; returns a value, a Deferred, or is an ``async def``.
Handler = Callable[[Any], Any]


def runHandler(agi: "AGISession", mainFunction: Handler) -> Deferred[bool]:
    """Run ``mainFunction(agi)`` the way every AGI transport does.

    If the function raises or its Deferred (or coroutine) fails, the
    session's :meth:`failureReport <AGISession.failureReport>` is logged as one ERROR entry
    on the transport's logger (:attr:`AGISession.handlerLog`) and the session
    is finished.  If it returns a Deferred or is a coroutine, the session is
    finished when that completes.  A plain return value leaves the session
    open: such a handler finishes it itself (StarPy's callback style).

    :return: a Deferred that fires once the handler is done, with ``True``
        if it succeeded and ``False`` if it failed; it never fails.
    """
    try:
        result = mainFunction(agi)
    except Exception:
        _handlerFailed(Failure(), agi)
        return defer.succeed(False)
    # A Deferred first: the Coroutine check is an ABC's, much dearer (with
    # the factory's reactor looked up once and the argument names made once,
    # 926 to 898 M instructions over 1,000 reference W3 sessions in
    # bench/w3_driver.py, bench/RESULTS.md).
    if not isinstance(result, Deferred):
        if not isinstance(result, Coroutine):
            return defer.succeed(True)
        result = Deferred.fromCoroutine(result)

    def done(ignored: object) -> bool:
        agi.finish()
        return True

    def failed(reason: Failure) -> bool:
        _handlerFailed(reason, agi)
        return False

    return cast("Deferred[bool]", result.addCallbacks(done, failed))


def _handlerFailed(reason: Failure, agi: "AGISession") -> None:
    agi.handlerLog.error("%s", agi.failureReport(reason))
    agi.finish()


def _milliseconds(seconds: float) -> int:
    """Float seconds to Asterisk's integer milliseconds; negative is -1.

    :raises ValueError: *seconds* is NaN or infinite (nothing is sent).
    """
    if seconds < 0:
        return -1
    milliseconds = seconds * 1000
    if not math.isfinite(milliseconds):
        raise ValueError("a time must be a finite number of seconds, not %r" % (seconds,))
    return int(round(milliseconds))


def _maskReply(reply: str) -> str:
    """A reply with everything after its status code hidden (notes kept)."""
    if reply[:3].isdigit():
        return reply[:3] + " (reply hidden)"
    return reply


def _escapeDigits(digits: Digits) -> str:
    if digits is None:
        return ""
    if isinstance(digits, str):
        return digits
    return "".join(str(digit) for digit in digits)


def _epochSeconds(value: Any) -> int:
    """A time (float seconds, datetime or struct_time) as integer epoch seconds.

    :raises ValueError: *value* is a NaN or infinite number of seconds.
    """
    if hasattr(value, "timestamp"):
        return int(value.timestamp())
    if isinstance(value, _time.struct_time):
        return int(_time.mktime(value))
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a time must be a finite number of seconds, not %r" % (value,))
    return int(value)


def _decimal(value: float) -> str:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("a number must be finite, not %r" % (value,))
    if number.is_integer():
        return str(int(number))
    return repr(number)


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
        self = super().__new__(cls, _upstreamText(reply))
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


def _upstreamText(reply: Union[AGIReply, str]) -> str:
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


def _resultInt(reply: AGIReply) -> int:
    try:
        return int(reply.result)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return reply.resultAsInt()  # raises the error that names the reply


def _replyInt(reply: AGIReply, text: str) -> int:
    """*text*, a number in *reply*, as an int; AGIReplyError if it is not one."""
    try:
        return int(text)
    except ValueError:
        raise error.AGIReplyError("not a number: %r in %r" % (text, reply.raw),
                                  reply=reply.raw) from None


def _endpos(reply: AGIReply) -> Optional[int]:
    value = reply.extra.get("endpos")
    return None if value is None else _replyInt(reply, value)


def _codeAndEndpos(reply: AGIReply) -> Tuple[int, Optional[int]]:
    return reply.resultAsInt(), _endpos(reply)


def _failUnless(reply: AGIReply, command: str, accepted: int = 1) -> AGIReply:
    """Fail with AGICommandFailure unless the result is *accepted*."""
    if reply.result != str(accepted):
        raise error.AGICommandFailure(command, reply.code, reply.raw)
    return reply


def _variableValue(reply: AGIReply) -> str:
    """GET VARIABLE's value; AGICommandFailure unless the result is 1."""
    _failUnless(reply, "GET VARIABLE")
    return reply.data if reply.data is not None else ""


def _databaseValue(reply: AGIReply) -> str:
    """DATABASE GET's value; AGICommandFailure unless the result is 1."""
    _failUnless(reply, "DATABASE GET")
    return reply.data if reply.data is not None else ""


def _value(reply: AGIReply) -> Optional[str]:
    if reply.result == "1":
        return reply.data if reply.data is not None else ""
    return None


def _timeoutFlag(reply: AGIReply) -> Tuple[str, bool]:
    """Upstream's ``resultPlusTimeoutFlag``: the result, and whether anything
    (Asterisk's ``(timeout)``) follows it."""
    text = _upstreamText(reply)
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


def _speechRecognition(reply: AGIReply) -> SpeechRecognition:
    extra = reply.extra
    # No more results than the reply has keys: a hostile count costs nothing.
    count = min(_replyInt(reply, extra.get("results", "0") or "0"), len(extra))
    results = [
        SpeechResult(
            score=_replyInt(reply, extra.get("score%d" % index, "0") or "0"),
            text=extra.get("text%d" % index, ""),
            grammar=extra.get("grammar%d" % index, ""),
        )
        for index in range(count)
    ]
    digit = extra.get("digit") or None
    return SpeechRecognition(
        reason=reply.data or "", endpos=_endpos(reply), digit=digit, results=results
    )


# -- InSequence ------------------------------------------------------------------


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


# -- the session -----------------------------------------------------------------


class AGISession(ABC):
    """One AGI session: every AGI command, over a transport provided by a subclass.

    :ivar variables: the ``agi_*`` environment, lower-case keys.
    :ivar hungUp: whether the channel is known to have hung up.
    :ivar closed: whether the session has ended (no command can be sent).
    :ivar history: the last :attr:`HISTORY_LENGTH` commands with their
        replies (or why they failed), oldest first, for failure reports.
    :ivar tracer: the session's :class:`WireTracer <starpy.trace.WireTracer>` (see
        :meth:`setTrace`).

    :param clock: the clock :meth:`wait` and :attr:`commandTimeout` use; the
        global reactor if ``None``.
    """

    #: How many commands :attr:`history` keeps.
    HISTORY_LENGTH = 20

    #: Where :func:`runHandler` reports a failed handler; each transport
    #: names its own module's logger (``starpy.fastagi``, ``starpy.asyncagi``).
    handlerLog = log

    #: How failure reports name the transport: ``"AGI handler failed on ..."``.
    transportName = "AGI"

    #: Whether a command queued before the channel hung up is still sent
    #: (Asterisk then answers it, ``511`` if a dead channel refuses it), or
    #: fails with :class:`AGIHangup <starpy.error.AGIHangup>` unsent unless it is
    #: dead-safe.  FastAGI sends it; AsyncAGI, whose channel is leaving
    #: AGI, does not.
    sendQueuedAfterHangup = True

    #: Whether the command methods may queue a command themselves (see
    #: :meth:`_command`): true unless a transport overrides
    #: :meth:`sendCommandLine` (or it is replaced on the session), which
    #: they then go through.
    _queueDirect = True

    #: Whether :meth:`_encodeLine` is the default one, so that the bytes of
    #: a line short enough for every Asterisk are the same in every session
    #: (see :meth:`_command`).
    _plainLines = True

    def __init_subclass__(cls, **named: Any) -> None:
        super().__init_subclass__(**named)
        cls._queueDirect = cls.sendCommandLine is AGISession.sendCommandLine
        cls._plainLines = cls._encodeLine is AGISession._encodeLine

    def __init__(self, clock: Optional[IReactorTime] = None) -> None:
        # Both made on first use: most sessions never trace, and every
        # idle session would pay for them.
        self._history: Optional[Deque[Tuple[str, str]]] = None
        self._tracer: Optional[WireTracer] = None
        self.variables: Dict[str, str] = {}
        self.hungUp = False
        self.closed = False
        self._clock = clock
        self._hangupWaiters: List[Deferred[None]] = []
        self._closeWaiters: List[Deferred[None]] = []
        self._waits: Set[Deferred[int]] = set()
        self._current: Optional[QueuedCommand] = None
        self._onClose: Optional[Deferred[None]] = None
        self._queue: Deque[QueuedCommand] = deque()
        # (Few attributes: past 30, CPython stops sharing the instance dict's
        # keys and every attribute access of the session gets slower.)
        # Set by finish(): from then on nothing more is sent.
        self._finishing = False
        # The command timeout, when set (see _Deadline).
        self._timeout: Optional[_Deadline] = None
        self._masking = 0
        # The command-line limit of the Asterisk in agi_version, cached:
        # (agi_version, limit).
        self._limit: Tuple[Optional[str], int] = (None, 0)

    # -- the command queue ------------------------------------------------

    def sendCommandLine(self, line: str) -> Deferred[AGIReply]:
        """Send one command line (without newline) and return its reply.

        The line goes out now if no command is in flight, else after the
        ones before it.  The Deferred fires with the final :class:`AGIReply`
        of that command (any code: :meth:`sendCommand` interprets it), and
        fails with :class:`AGIHangup <starpy.error.AGIHangup>` if the session has ended
        or been finished (nothing is sent then) or ends first.  What happens
        to a command queued before a hangup is the transport's
        :attr:`sendQueuedAfterHangup`.  Cancelling a queued command removes
        it; one in flight cannot be unsent (its reply is then dropped).

        A line the connected Asterisk would not read back as one command
        fails the Deferred with ``ValueError`` and is not sent: one
        holding CR, LF or NUL, or one longer than Asterisk's command buffer
        (:func:`maxCommandBytes <starpy.codec.agi.maxCommandBytes>` of ``agi_version``: 8191
        bytes with the newline since Asterisk 20.16, 21.11, 22.6 and 23,
        2047 before and when the version is unknown), whose tail Asterisk
        would run as another command.
        """
        if self.closed or self._finishing:
            return defer.fail(error.AGIHangup(line, None, "AGI session has ended"))
        try:
            data = self._encodeLine(line)
        except ValueError:
            return defer.fail(Failure())
        command = QueuedCommand(line, Deferred(self._cancelQueued), data)
        if self._current is None:  # the common case, inlined: nothing in flight
            self._current = command
            if self._timeout is not None:
                self._armDeadline(self._timeout)
            self._transmit(command)
        else:
            self._queue.append(command)
        return command.deferred

    def _encodeLine(self, line: str) -> Optional[bytes]:
        """Check *line* for this transport; return its bytes (newline included).

        The default is FastAGI's and classic AGI's rule: the line must fit
        the command buffer of the Asterisk named by ``agi_version``
        (:func:`maxCommandBytes <starpy.codec.agi.maxCommandBytes>`).

        :raises ValueError: Asterisk would not read *line* as one command.
        """
        version = self.variables.get("agi_version")
        cached, limit = self._limit
        if version is not cached or not limit:
            limit = maxCommandBytes(version)
            self._limit = (version, limit)
        try:
            data = line.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = b"\n"  # the slow path below says what is wrong
        # (int membership: much cheaper than a bytes one; 10 LF, 13 CR, 0 NUL)
        if len(data) >= limit or 10 in data or 13 in data or 0 in data:
            return encodeCommandLine(line, limit)  # raises, or the line is fine
        return data + b"\n"

    def _enqueue(self, command: QueuedCommand) -> None:
        if self._current is None:
            self._current = command
            if self._timeout is not None:
                self._armDeadline(self._timeout)
            self._transmit(command)
        else:
            self._queue.append(command)

    # -- the command timeout ------------------------------------------------

    @property
    def commandTimeout(self) -> Optional[float]:
        """Seconds a command may wait for its reply, or ``None`` (the default): no limit.

        When a command gets no reply in time its Deferred fails with
        :class:`AGICommandTimeout <starpy.error.AGICommandTimeout>` and the session ends (the
        connection is dropped: a late reply would answer the wrong command),
        so every other waiting command fails with
        :class:`AGIHangup <starpy.error.AGIHangup>`.  Set it longer than the longest
        command the application runs: ``STREAM FILE`` of a long prompt,
        ``WAIT FOR DIGIT -1``, ``RECORD FILE``, ``EXEC Dial`` last as long
        as the caller lets them.  A new value applies to the command in
        flight from now on, and to the next ones.

        :raises ValueError: (on setting) not ``None`` nor a number above 0.
        """
        state = self._timeout
        return None if state is None else state.timeout

    @commandTimeout.setter
    def commandTimeout(self, seconds: Optional[float]) -> None:
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise TypeError("commandTimeout must be a number or None, not %r" % (seconds,))
            if not seconds > 0:  # also refuses NaN
                raise ValueError("commandTimeout must be above 0 seconds, not %r" % (seconds,))
        self._stopDeadline()
        if seconds is None:
            self._timeout = None
            return
        state = self._timeout = _Deadline(seconds)
        if self._current is not None and not self.closed:
            self._armDeadline(state)

    def _armDeadline(self, state: "_Deadline") -> None:
        """Give the command just put in flight its deadline."""
        clock = self.clock
        state.deadline = clock.seconds() + state.timeout
        if state.timer is None:
            state.timer = clock.callLater(state.timeout, self._checkDeadline, state)

    def _checkDeadline(self, state: "_Deadline") -> None:
        state.timer = None
        command = self._current
        if command is None or self.closed or self._timeout is not state:
            return
        clock = self.clock
        left = state.deadline - clock.seconds()
        if left > 0:  # a later command is in flight: wait for its deadline
            state.timer = clock.callLater(left, self._checkDeadline, state)
            return
        timeout = state.timeout
        log.warning("%s: no reply to %r within %g s; ending the AGI session",
                    self._name(), command.line, timeout)
        self._current = None
        self._abortSession("no reply to %s within %g seconds" % (command.line, timeout))
        if not command.deferred.called:
            self._commandFailed(command, error.AGICommandTimeout(
                command.line, None, "no reply within %g seconds" % (timeout,)))

    def _abortSession(self, why: str) -> None:
        """A command timed out (it is no longer in flight): end the session.

        FastAGI drops the connection; the default finishes the session.
        """
        self.finish()

    def _stopDeadline(self) -> None:
        state = self._timeout
        if state is not None and state.timer is not None:
            timer, state.timer = state.timer, None
            if timer.active():
                timer.cancel()

    @property
    def pendingCount(self) -> int:
        """How many commands are in flight or queued."""
        return len(self._queue) + (self._current is not None)

    def _commandDone(self, command: QueuedCommand, result: Any) -> None:
        """*command* got its reply (or failed): send the next one, then fire it."""
        if self._current is command:
            self._current = None
            if self._queue:
                self._transmitNext()
        deferred = command.deferred
        if deferred.called:
            return  # cancelled by its caller
        check = command.check
        if check is not None:
            if isinstance(result, Failure):
                self._remember(command.line, "(no reply: %s)" % (result.getErrorMessage(),))
            else:
                try:
                    result = self._checkReply(result, command.line, check[0], check[1])
                except BaseException:
                    result = Failure()
        # Given a Failure, callback is errback (Twisted documents it): no
        # test for one (887 to 881 M instructions over 1,000 W3 sessions in
        # bench/w3_driver.py).
        deferred.callback(result)

    def _commandFailed(self, command: QueuedCommand, reason: BaseException) -> None:
        """Fail *command*'s Deferred with *reason* (noted in the history if
        it came from a command method)."""
        if command.check is not None:
            self._remember(command.line, "(no reply: %s)" % (Failure(reason).getErrorMessage(),))
        command.deferred.errback(reason)

    def _transmitNext(self) -> None:
        while self._queue and not self.closed and self._current is None:
            command = self._queue.popleft()
            if self.hungUp and not self.sendQueuedAfterHangup and not isDeadSafe(command.line):
                self._remember(command.line, "(not sent: the channel has hung up)")
                self._commandFailed(
                    command, error.AGIHangup(command.line, None, "channel has hung up"))
                continue
            self._current = command
            if self._timeout is not None:
                self._armDeadline(self._timeout)
            self._transmit(command)

    def _cancelQueued(self, waiting: Deferred[AGIReply]) -> None:
        current = self._current
        if current is not None and current.deferred is waiting:
            self._noteCancelled(current)
            return
        for command in self._queue:
            if command.deferred is waiting:
                self._queue.remove(command)
                self._noteCancelled(command)
                return

    def _noteCancelled(self, command: QueuedCommand) -> None:
        if command.check is not None:
            self._remember(command.line, "(no reply: %s)"
                           % (Failure(defer.CancelledError()).getErrorMessage(),))

    def _takePending(self) -> List[QueuedCommand]:
        """Take every command in flight or queued out of the queue."""
        pending: List[QueuedCommand] = []
        if self._current is not None:
            pending.append(self._current)
            self._current = None
        pending.extend(self._queue)
        self._queue.clear()
        return pending

    def _failCommands(self, commands: Sequence[QueuedCommand], reason: str) -> None:
        """Fail *commands* (from :meth:`_takePending`) with AGIHangup(*reason*)."""
        for command in commands:
            if not command.deferred.called:
                self._commandFailed(command, error.AGIHangup(command.line, None, reason))

    def _beginFinish(self, why: str) -> bool:
        """Mark the session as finishing and fail its queued commands with
        AGIHangup(*why*); false if it was closed or finishing already (the
        transport's ``finish()`` then has nothing to do)."""
        if self.closed or self._finishing:
            return False
        self._finishing = True
        queued = list(self._queue)
        self._queue.clear()
        self._failCommands(queued, why)
        return True

    # -- what a transport provides ------------------------------------------

    def _transmit(self, command: QueuedCommand) -> None:
        """Put *command* on the wire; call :meth:`_commandDone` with its reply.

        An unsolicited ``HANGUP`` must not answer it: call
        :meth:`hangupReceived` instead.  (A transport that has no use for
        the queue may override :meth:`sendCommandLine` instead.)
        """
        raise NotImplementedError("%s must override _transmit or sendCommandLine"
                                  % (type(self).__name__,))

    @abstractmethod
    def finish(self) -> None:
        """End the AGI session (FastAGI: close the connection).

        Commands still waiting fail with :class:`AGIHangup <starpy.error.AGIHangup>`.
        """

    def hangupReceived(self) -> None:
        """Mark the channel hung up (``HANGUP`` line, SIGHUP, 511 reply).

        A pending command is not answered by this.  From now on, commands a
        dead channel refuses fail at once with
        :class:`AGIHangup <starpy.error.AGIHangup>`; the dead-safe ones
        (:data:`DEAD_SAFE_COMMANDS`) are still sent.
        """
        if self.hungUp:
            return
        self.hungUp = True
        log.debug("%s: channel hung up", self._name())
        waiters, self._hangupWaiters = self._hangupWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def sessionClosed(self) -> None:
        """Mark the session ended: every later command fails at once.

        Transports call this when the connection (or AsyncAGI) ends, after
        failing their own pending commands.  Pending :meth:`wait` calls fail
        with :class:`AGIHangup <starpy.error.AGIHangup>`; :meth:`whenClosed` fires.
        """
        if self.closed:
            return
        self.closed = True
        if self._timeout is not None:
            self._stopDeadline()
        if self._waits:
            waits, self._waits = self._waits, set()
            for waiting in waits:
                waiting.cancel()
        if self._hangupWaiters:
            hangupWaiters, self._hangupWaiters = self._hangupWaiters, []
            for waiter in hangupWaiters:
                waiter.callback(None)
        if self._closeWaiters:
            closeWaiters, self._closeWaiters = self._closeWaiters, []
            for waiter in closeWaiters:
                waiter.callback(None)

    # -- observers -------------------------------------------------------------

    def whenHungUp(self) -> Deferred[None]:
        """Return a new Deferred that fires (with ``None``) once the channel
        hangs up or the session ends; at once if that already happened."""
        if self.hungUp or self.closed:
            return defer.succeed(None)
        waiter: Deferred[None] = Deferred()
        self._hangupWaiters.append(waiter)
        return waiter

    def onClose(self) -> Deferred[None]:
        """Upstream StarPy's close notification: a Deferred that *fails*
        (with ``twisted.internet.error.ConnectionDone``) once the
        session has ended; the same Deferred on every call.

        :meth:`whenClosed`, which fires with ``None``, is the primary form.
        """
        if self._onClose is None:
            def ended(ignored: None) -> None:
                raise ConnectionDone("AGI session ended")

            self._onClose = self.whenClosed().addCallback(ended)
        return self._onClose

    def whenClosed(self) -> Deferred[None]:
        """Return a new Deferred that fires (with ``None``) once the session
        has ended (FastAGI: the connection closed); at once if it has."""
        if self.closed:
            return defer.succeed(None)
        waiter: Deferred[None] = Deferred()
        self._closeWaiters.append(waiter)
        return waiter

    # -- sending -----------------------------------------------------------------

    @property
    def clock(self) -> IReactorTime:
        """The clock used by :meth:`wait`."""
        if self._clock is None:
            from twisted.internet import reactor

            self._clock = cast(IReactorTime, reactor)
        return self._clock

    def _name(self) -> str:
        return self.variables.get("agi_channel", "AGI")

    @property
    def history(self) -> Deque[Tuple[str, str]]:
        """The last :attr:`HISTORY_LENGTH` commands as ``(line, reply)``, oldest first."""
        if self._history is None:
            self._history = deque(maxlen=self.HISTORY_LENGTH)
        return self._history

    def _remember(self, line: str, reply: str) -> None:
        history = self._history
        if history is None:
            history = self._history = deque(maxlen=self.HISTORY_LENGTH)
        if self._masking:
            reply = _maskReply(reply)
        history.append((line, reply))

    @contextmanager
    def maskingReplies(self) -> Iterator[None]:
        """Hide the replies of the commands answered inside the ``with`` block.

        Asterisk's replies are kept in :attr:`history` (and so in
        :meth:`failureReport`) and in the wire trace with only their status
        code: a DTMF reply such as ``200 result=52`` spells the key pressed,
        so :class:`CollectPassword <starpy.menu.CollectPassword>` collects inside this.
        Commands sent stay visible.  Blocks may nest::

            with agi.maskingReplies():
                digit = await agi.waitForDigit(5)
        """
        self._masking += 1
        try:
            yield
        finally:
            self._masking -= 1

    @property
    def maskingActive(self) -> bool:
        """Whether replies are being hidden (see :meth:`maskingReplies`)."""
        return self._masking > 0

    @property
    def tracer(self) -> WireTracer:
        """The session's :class:`WireTracer <starpy.trace.WireTracer>` (made on first use)."""
        if self._tracer is None:
            self._tracer = WireTracer("AGI")
        return self._tracer

    @property
    def tracing(self) -> bool:
        """Whether wire tracing is on for this session."""
        return self._tracer is not None and self._tracer.enabled

    def setTrace(self, enabled: bool = True) -> None:
        """Log every line sent and received in this session (or stop).

        See :mod:`starpy.trace`: DEBUG records on the ``starpy.wire`` logger.
        """
        self.tracer.enabled = enabled

    def failureReport(self, reason: Failure) -> str:
        """One readable text explaining a failed handler, for a single log entry.

        It holds the traceback of *reason*, the call's AGI environment and
        the last commands of the session with their replies.
        """
        lines = ["%s handler failed on %s" % (self.transportName, self._name()),
                 reason.getTraceback().rstrip(),
                 "AGI environment:"]
        lines.extend("  %s: %s" % item for item in sorted(self.variables.items()))
        lines.append("Last %d command(s), oldest first:" % (len(self.history),))
        for line, reply in self.history:
            lines.append("  >> %s" % (line,))
            lines.extend("  << %s" % (part,) for part in reply.split("\n"))
        if not self.history:
            lines.append("  (none)")
        return "\n".join(lines)

    @_keywordAliases(command="commandString")
    def sendCommand(self, commandString: str, *arguments: Argument) -> Deferred[AGIResponse]:
        """Send a command and return its checked reply.

        This is upstream StarPy's ``sendCommand(commandString)``: a whole
        command line (``'GET VARIABLE "X"'``) is sent as it is.  Given
        *arguments*, *commandString* is the command's words
        (``"SPEECH SET"``) and each argument is quoted as Asterisk needs.
        ``command=`` is accepted as an alias of ``commandString=``.

        :return: a Deferred firing with an :class:`AGIResponse`: upstream's
            string (the reply after ``200 result=``), which also holds the
            parsed reply.  It fails with
            :class:`AGICommandFailure <starpy.error.AGICommandFailure>` on ``result=-1``
            (upstream fired with ``"-1"``; its helper :meth:`checkFailure`
            then raised the same error), and as described in the module
            docstring for the other replies.
        """
        return self._command(AGIResponse, commandString, *arguments)

    def _command(
        self,
        convert: Optional[Callable[[AGIReply], Any]],
        command: str,
        *arguments: Argument,
        failOnMinusOne: bool = True,
    ) -> Deferred[Any]:
        """Send a command; check its reply, then pass it through *convert*.

        With *failOnMinusOne* false, a ``200 result=-1`` reply goes to
        *convert* (the commands upstream StarPy did not check).
        """
        key = (command, arguments)
        try:
            cached = _LINES.get(key)
        except TypeError:  # an argument that is not hashable (formatCommand says why)
            cached = None
        if cached is not None and not _plainArguments(arguments):
            cached = None  # True or 1.0 where the line was made for 1
        data: Optional[bytes]
        if cached is not None:
            line, data = cached
        else:
            try:
                line = formatCommand(command, *arguments)
            except (ValueError, TypeError):
                return defer.fail(Failure())
            data = None
        if self.closed or self._finishing:
            self._remember(line, "(not sent: the AGI session has ended)")
            return defer.fail(error.AGIHangup(line, None, "AGI session has ended"))
        if self.hungUp and command.upper() not in DEAD_SAFE_COMMANDS:
            self._remember(line, "(not sent: the channel has hung up)")
            return defer.fail(error.AGIHangup(line, None, "channel has hung up"))
        if not self._queueDirect or "sendCommandLine" in self.__dict__:
            # A transport's own sendCommandLine, or one wrapped on this
            # session (starpy.metrics times commands so): go through it.
            return self.sendCommandLine(line).addCallbacks(
                self._checkReply, self._noReply, callbackArgs=(line, convert, failOnMinusOne),
                errbackArgs=(line,))
        # sendCommandLine inlined, and the reply checked before the Deferred
        # fires (_commandDone) instead of by a callback added to it: measured
        # with callgrind on the reference W3 workload (bench/RESULTS.md).
        if data is None or not self._plainLines:
            try:
                data = self._encodeLine(line)
            except ValueError:
                failure = Failure()
                self._remember(line, "(no reply: %s)" % (failure.getErrorMessage(),))
                return defer.fail(failure)
            if (data is not None and len(data) <= _FITS_EVERY_ASTERISK and self._plainLines
                    and _plainArguments(arguments)):
                if len(_LINES) >= _LINES_KEPT:
                    _LINES.clear()
                _LINES[key] = (line, data)
        queued = QueuedCommand(line, Deferred(self._cancelQueued), data,
                               (convert, failOnMinusOne))
        if self._current is None:  # nothing in flight
            self._current = queued
            if self._timeout is not None:
                self._armDeadline(self._timeout)
            self._transmit(queued)
        else:
            self._queue.append(queued)
        return queued.deferred

    def _noReply(self, reason: Failure, line: str) -> Failure:
        self._remember(line, "(no reply: %s)" % (reason.getErrorMessage(),))
        return reason

    def _checkReply(
        self, reply: AGIReply, line: str, convert: Optional[Callable[[AGIReply], Any]],
        failOnMinusOne: bool = True,
    ) -> Any:
        history = self._history
        if history is None or self._masking:
            self._remember(line, reply.raw)
        else:
            history.append((line, reply.raw))
        code = reply.code
        if code == 200:
            result = reply.result
            if result == "-1" and failOnMinusOne:
                raise error.AGICommandFailure(line, 200, reply.raw)
            if result is None:
                raise error.AGIReplyError("200 reply without result=", line, reply.raw)
            if convert is None:
                return reply
            try:
                return convert(reply)
            except (ValueError, OverflowError) as e:
                # A value that should be a number and is not: the reply is
                # malformed, whichever conversion noticed it.
                message = e.message if isinstance(e, error.AGIReplyError) else str(e)
                raise error.AGIReplyError(
                    "malformed reply (%s): %r" % (message, reply.raw), line, reply.raw
                ) from e
        if code == 510:
            raise error.AGIInvalidCommand(line, 510, reply.text)
        if code == 511:
            self.hangupReceived()
            raise error.AGIDeadChannel(line, 511, reply.text)
        if code == 520:
            raise error.AGIUsageError(line, 520, reply.text, reply.usage)
        raise error.AGICommandFailure(line, code, reply.raw)

    # -- not talking to Asterisk ---------------------------------------------------

    @_keywordAliases(seconds="duration")
    def wait(self, duration: float) -> Deferred[int]:
        """Wait *duration* seconds without talking to Asterisk.

        ``seconds=`` is accepted as an alias of ``duration=``.

        :return: a Deferred that fires with ``0`` (as upstream StarPy's did)
            after *duration* seconds; it
            fails with :class:`AGIHangup <starpy.error.AGIHangup>` if the session ends
            first, and at once with ``ValueError`` if *duration* is
            negative or NaN.  Cancelling it cancels the timer.
        """
        if self.closed:
            return defer.fail(error.AGIHangup(None, None, "AGI session has ended"))
        if not duration >= 0:  # negative, or NaN
            return defer.fail(ValueError("wait needs seconds >= 0, not %r" % (duration,)))
        waiting: Deferred[int] = Deferred(lambda d: call.cancel())
        call: IDelayedCall = self.clock.callLater(duration, self._waitDone, waiting)
        self._waits.add(waiting)

        def onCancel(reason: Failure) -> Failure:
            self._waits.discard(waiting)
            if self.closed and reason.check(defer.CancelledError):
                return Failure(error.AGIHangup(None, None, "AGI session has ended"))
            return reason

        return waiting.addErrback(onCancel)

    def _waitDone(self, waiting: Deferred[int]) -> None:
        self._waits.discard(waiting)
        waiting.callback(0)

    def jumpOnError(
        self,
        reason: Failure,
        difference: int = 100,
        forErrors: Union[None, Type[BaseException], Sequence[Type[BaseException]]] = None,
    ) -> Deferred[List[Any]]:
        """Errback: on error, jump to the original priority + *difference* and finish.

        Add it to the Deferred of a whole AGI operation
        (``d.addErrback(agi.jumpOnError, 100)``).  It sets the context,
        extension and priority back to the ones of the environment, with the
        priority moved by *difference*, then finishes the session (the
        session is finished even if setting them fails).

        :param forErrors: an exception class or a sequence of them; other
            failures are passed on untouched (no jump).
        :return: a Deferred firing with the results of the three SET
            commands and of the finish (``None``), as upstream StarPy's did,
            or failing with the first one's failure.
        """
        if forErrors:
            if isinstance(forErrors, type):
                reason.trap(forErrors)
            else:
                reason.trap(*forErrors)
        log.info("%s: jumping %+d priorities on error: %s", self._name(), difference,
                 reason.getErrorMessage())
        sequence = InSequence()
        sequence.append(self.setContext, self.variables["agi_context"])
        sequence.append(self.setExtension, self.variables["agi_extension"])
        sequence.append(self.setPriority, int(self.variables["agi_priority"]) + difference)

        def finishAnyway(result: _T) -> _T:
            self.finish()
            if isinstance(result, list):
                result.append(None)
            return result

        return sequence().addBoth(finishAnyway)

    # -- upstream StarPy's result helpers -------------------------------------------
    #
    # Upstream's command methods were built from these; upstream code that
    # sends its own commands (sendCommand) chains them the same way.  Each
    # takes upstream's string (the reply after "200 result=") or a reply of
    # this library (AGIResponse, AGIReply).

    def checkFailure(self, result: Union[str, AGIReply], failure: str = "-1") -> Any:
        """Return *result* unchanged unless its result code is *failure*.

        :raises AGICommandFailure: the code (the first word) is *failure*.
        """
        text = _upstreamText(result)
        if text.split(" ", 1)[0].strip() == failure:
            raise error.AGICommandFailure(None, 200, "result=%s" % (text,))
        return result

    def resultAsInt(self, result: Union[str, AGIReply]) -> int:
        """The result code as an int (``"0"`` gives ``0``).

        :raises AGICommandFailure: the result is not a bare number.
        """
        text = _upstreamText(result)
        try:
            return int(text.strip())
        except ValueError:
            raise error.AGICommandFailure(None, 200, "result=%s is not a number" % (text,)) \
                from None

    def secondResultItem(self, result: Union[str, AGIReply]) -> str:
        """What follows the result code: ``"1 (value)"`` gives ``"(value)"``.

        :raises IndexError: nothing follows it.
        """
        return _upstreamText(result).split(" ", 1)[1]

    def resultPlusTimeoutFlag(self, resultLine: Union[str, AGIReply]) -> Tuple[str, bool]:
        """``(result, timedOut)``: ``"123 (timeout)"`` gives ``("123", True)``,
        ``"123"`` gives ``("123", False)``."""
        if isinstance(resultLine, str):
            head, space, rest = resultLine.partition(" ")
            if space:
                return head.strip(), True
            return resultLine.strip(), False
        return _timeoutFlag(resultLine)

    def dateAsSeconds(self, date: Any) -> int:
        """A datetime, date, struct_time or number as epoch seconds, as the
        SAY DATE/TIME/DATETIME commands take them.

        A timezone-aware datetime gives its own instant (upstream read its
        fields as local time); a naive one is local time.
        """
        if not hasattr(date, "timestamp") and hasattr(date, "timetuple"):
            return int(_time.mktime(date.timetuple()))  # a date
        return _epochSeconds(date)

    def onRecordingComplete(self, resultLine: Union[str, AGIReply]) -> Tuple[int, str, int]:
        """Read a RECORD FILE result: ``"35 (dtmf) endpos=8000"`` gives
        ``(35, "dtmf", 8000)``.

        :raises ValueError: the result does not have that form.
        """
        text = _upstreamText(resultLine)
        parts = text.split(" ", 2)
        if len(parts) == 3 and parts[2].strip().startswith("endpos="):
            try:
                return int(parts[0]), parts[1].strip("()"), int(parts[2].strip()[7:])
            except ValueError:
                pass
        raise ValueError("unexpected RECORD FILE result: %r" % (text,))

    def onStreamingComplete(self, resultLine: Union[str, AGIReply],
                            skipMS: int = 0) -> Tuple[int, int]:
        """Read a STREAM FILE result: ``"35 endpos=100"`` gives ``(35, 100)``.

        As upstream's, it takes an end position equal to the start
        (*skipMS*) as a file that did not play.

        :raises AGICommandFailure: the end position is *skipMS*.
        :raises ValueError: the result does not have that form.
        """
        text = _upstreamText(resultLine)
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
        raise ValueError("unexpected STREAM FILE result: %r" % (text,))

    def onControlStreamFileComplete(
        self, resultLine: Union[str, AGIReply]
    ) -> Tuple[int, Optional[int]]:
        """Read a CONTROL STREAM FILE result: ``"35 endpos=100"`` gives
        ``(35, 100)``, ``"0"`` gives ``(0, None)``."""
        text = _upstreamText(resultLine)
        parts = text.split(" ", 1)
        endpos = None
        if len(parts) == 2:
            rest = parts[1].strip()
            if rest.startswith("endpos="):
                endpos = int(rest[7:])
            else:
                log.error("unexpected CONTROL STREAM FILE result: %r", text)
        return int(parts[0]), endpos

    def sayXXX(self, baseCommand: str, value: Argument,
               escapeDigits: Digits = "") -> Deferred[int]:
        """Send one of the SAY commands: ``baseCommand value escapeDigits``.

        :return: as :meth:`sayAlpha`.
        """
        return self._command(_resultInt, baseCommand, value, _escapeDigits(escapeDigits))

    # -- the AGI commands ------------------------------------------------------------

    def answer(self) -> Deferred[int]:
        """ANSWER: answer the channel.

        :return: Deferred firing with the result code (0); fails with
            AGICommandFailure if the answer failed.
        """
        return self._command(_resultInt, "ANSWER")

    def asyncagiBreak(self) -> Deferred[int]:
        """ASYNCAGI BREAK: leave AsyncAGI, the dialplan continues (dead-safe).

        :return: Deferred firing with the result code (0).
        """
        return self._command(_resultInt, "ASYNCAGI BREAK")

    def channelStatus(self, channel: Optional[str] = None) -> Deferred[int]:
        """CHANNEL STATUS: the state of this channel or of *channel*.

        :return: Deferred firing with Asterisk's state number: 0 down and
            available, 1 down but reserved, 2 off hook, 3 digits dialed,
            4 ringing, 5 remote end ringing, 6 up, 7 busy.  Fails with
            AGICommandFailure when there is no such channel (-1).
        """
        if channel is None:
            return self._command(_resultInt, "CHANNEL STATUS")
        return self._command(_resultInt, "CHANNEL STATUS", channel)

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
            skipMS = _milliseconds(skip)
        arguments: List[Argument] = [
            filename,
            _escapeDigits(escapeDigits),
            3000 if skipMS is None else int(skipMS),
            ffChar,
            rewChar,
        ]
        if pauseChar is not None or offset is not None:
            arguments.append(pauseChar or "")
        if offset is not None:
            arguments.append(_milliseconds(offset))
        return self._command(_codeAndEndpos, "CONTROL STREAM FILE", *arguments)

    def databaseDel(self, family: str, key: str) -> Deferred[int]:
        """DATABASE DEL: delete *key* of *family* from AstDB (dead-safe).

        :return: Deferred firing with 1; fails with AGICommandFailure if
            Asterisk could not delete it (result 0).
        """
        line = "DATABASE DEL"
        return self._command(None, line, family, key).addCallback(
            _failUnless, line).addCallback(_resultInt)

    def databaseDeltree(self, family: str, keyTree: Optional[str] = None) -> Deferred[int]:
        """DATABASE DELTREE: delete a family, or the *keyTree* within it (dead-safe).

        :return: Deferred firing with 1; fails with AGICommandFailure if
            nothing was deleted (result 0).
        """
        line = "DATABASE DELTREE"
        if keyTree is None:
            d = self._command(None, line, family)
        else:
            d = self._command(None, line, family, keyTree)
        return d.addCallback(_failUnless, line).addCallback(_resultInt)

    def databaseGet(self, family: str, key: str) -> Deferred[str]:
        """DATABASE GET: read *key* of *family* from AstDB (dead-safe).

        :return: Deferred firing with the value; fails with
            AGICommandFailure if the key is not set (result 0).
        """
        return self._command(_databaseValue, "DATABASE GET", family, key)

    def databaseSet(self, family: str, key: str, value: str) -> Deferred[int]:
        """DATABASE PUT: set *key* of *family* in AstDB to *value* (dead-safe).

        :return: Deferred firing with 1; fails with AGICommandFailure if
            Asterisk could not store it (result 0).
        """
        line = "DATABASE PUT"
        return self._command(None, line, family, key, value).addCallback(
            _failUnless, line).addCallback(_resultInt)

    #: Asterisk's name for :meth:`databaseSet`, kept from StarPy.
    databasePut = databaseSet

    def execute(self, application: str, *options: Argument, **kwargs: Any) -> Deferred[str]:
        """EXEC: run a dialplan application (dead-safe).

        Asterisk calls this ``EXEC``.  The options are joined with commas
        into the application's argument string (upstream's keyword
        ``comma_delimiter`` is accepted; commas are what Asterisk 1.6 and
        later take, so they are always used).

        :return: Deferred firing, as upstream StarPy's did, with the
            application's return value as a string (``"0"``; ``"-1"`` when
            the application failed or the caller hung up: see
            :meth:`playback` for a checked form).  Fails with
            AGICommandFailure if there is no such application (-2).
        """
        unknown = set(kwargs) - {"comma_delimiter"}
        if unknown:
            return defer.fail(TypeError("execute() got unexpected keyword arguments: %s"
                                        % (", ".join(sorted(unknown)),)))
        line = "EXEC"

        def check(reply: AGIReply) -> str:
            if reply.result == "-2":
                raise error.AGICommandFailure(
                    line + " " + application, 200, "no such application: " + reply.raw)
            return _upstreamText(reply)

        if not options:
            return self._command(check, line, application, failOnMinusOne=False)
        joined = ",".join(str(option) for option in options)
        return self._command(check, line, application, joined, failOnMinusOne=False)

    def playback(self, filename: str, doAnswer: int = 1) -> Deferred[int]:
        """Run the Playback application on *filename* (StarPy's helper over EXEC).

        :param doAnswer: 1 answer first if needed, 0 play without answering,
            -1 skip the playback if the channel is not answered.
        :return: Deferred firing with Playback's return value as an int (0);
            fails with AGICommandFailure if it failed or the caller hung up
            (-1).
        :raises TypeError: *doAnswer* is not -1, 0 or 1 (at once, as
            upstream StarPy did).
        """
        options = {-1: "skip", 0: "noanswer", 1: ""}
        if doAnswer not in options:
            raise TypeError("doAnswer accepts -1, 0 or 1, not %r" % (doAnswer,))
        if options[doAnswer]:
            return self._command(_resultInt, "EXEC", "Playback",
                                 "%s,%s" % (filename, options[doAnswer]))
        return self._command(_resultInt, "EXEC", "Playback", filename)

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
        arguments: List[Argument] = [filename, _milliseconds(timeout)]
        if maxDigits is not None:
            arguments.append(int(maxDigits))

        return self._command(_timeoutFlag, "GET DATA", *arguments)

    def getFullVariable(self, name: str, channel: Optional[str] = None) -> Deferred[Optional[str]]:
        """GET FULL VARIABLE: evaluate an expression such as ``"${CALLERID(num)}"`` (dead-safe).

        :param channel: evaluate it on another channel.
        :return: Deferred firing with the value, or ``None`` if it is not set.
        """
        if channel is None:
            return self._command(_value, "GET FULL VARIABLE", name)
        return self._command(_value, "GET FULL VARIABLE", name, channel)

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
        arguments: List[Argument] = [filename, _escapeDigits(escapeDigits)]
        if timeout is not None:
            arguments.append(_milliseconds(timeout))

        def option(reply: AGIReply) -> Tuple[str, Optional[int]]:
            return digitChar(reply.resultAsInt()), _endpos(reply)

        return self._command(option, "GET OPTION", *arguments)

    @_keywordAliases(name="variable")
    def getVariable(self, variable: str) -> Deferred[str]:
        """GET VARIABLE: read a channel variable (dead-safe).

        ``name=`` is accepted as an alias of ``variable=``.

        :return: Deferred firing with the value (``""`` when set to
            nothing); fails with AGICommandFailure if the variable is not set
            (result 0), as upstream StarPy's did.  See
            :meth:`getFullVariable` for a form firing with ``None``.
        """
        return self._command(_variableValue, "GET VARIABLE", variable)

    def gosub(
        self, context: str, extension: str, priority: Union[int, str], *arguments: Argument
    ) -> Deferred[int]:
        """GOSUB: run a dialplan subroutine and come back.

        The *arguments* are joined with commas, as ``Gosub()`` takes them.
        Asterisk sends an interim ``100 result=0 Trying...`` line first; the
        Deferred waits for the final reply.

        :return: Deferred firing with the result code (0); fails with
            AGICommandFailure if the subroutine could not run (-1).
        """
        values: List[Argument] = [context, extension, str(priority)]
        if arguments:
            values.append(",".join(str(argument) for argument in arguments))
        return self._command(_resultInt, "GOSUB", *values)

    def hangup(self, channel: Optional[str] = None) -> Deferred[int]:
        """HANGUP: hang up this channel, or *channel*.

        Asterisk then sends an unsolicited ``HANGUP`` line, which marks this
        session hung up.

        :return: Deferred firing with 1; fails with AGICommandFailure if the
            channel does not exist (-1).
        """
        if channel is None:
            return self._command(_resultInt, "HANGUP")
        return self._command(_resultInt, "HANGUP", channel)

    def noop(self, message: Optional[str] = None) -> Deferred[int]:
        """NOOP: do nothing; useful to check the session is alive (dead-safe).

        :return: Deferred firing with the result code (0).
        """
        if message is None:
            return self._command(_resultInt, "NOOP")
        return self._command(_resultInt, "NOOP", message)

    def receiveChar(self, timeout: Optional[float] = None) -> Deferred[Tuple[str, bool]]:
        """RECEIVE CHAR: receive one character of text (few channels support it).

        :param timeout: seconds to wait, ``None`` to wait forever.
        :return: Deferred firing, as upstream StarPy's did, with
            ``(code, timedOut)``: the character's code as a string (``"65"``
            for ``"A"``, ``"0"`` when nothing came; :func:`digitChar` turns
            it into the character) and whether Asterisk added ``(timeout)``.
            Fails with AGICommandFailure on error or hangup (-1).
        """
        milliseconds = 0 if timeout is None else _milliseconds(timeout)
        return self._command(_timeoutFlag, "RECEIVE CHAR", milliseconds)

    def receiveText(self, timeout: Optional[float] = None) -> Deferred[str]:
        """RECEIVE TEXT: receive a text message (few channels support it).

        :param timeout: seconds to wait, ``None`` to wait forever.
        :return: Deferred firing with the text (``"hello"`` for
            ``200 result=1 (hello)``; upstream fired with ``"1 (hello)"``);
            fails with AGICommandFailure on error, hangup or timeout (-1).
        """
        milliseconds = 0 if timeout is None else _milliseconds(timeout)

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
            _escapeDigits(escapeDigits),
            _milliseconds(timeout),
        ]
        if offsetSamples is not None:
            arguments.append(int(offsetSamples))
        if beep:
            arguments.append("BEEP")
        if silence is not None:
            arguments.append("s=%d" % (int(round(silence)),))

        def outcome(reply: AGIReply) -> Tuple[int, str, int]:
            endpos = _endpos(reply)
            if endpos is None:
                raise error.AGICommandFailure("RECORD FILE " + filename, reply.code, reply.raw)
            return reply.resultAsInt(), reply.data or "", endpos

        return self._command(outcome, "RECORD FILE", *arguments, failOnMinusOne=False)

    def _say(self, command: str, value: Argument, escapeDigits: Digits,
             *more: Argument) -> Deferred[int]:
        return self._command(_resultInt, command, value, _escapeDigits(escapeDigits), *more)

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
        return self._say("SAY DATE", _epochSeconds(date), escapeDigits)

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
            more.append(format if format is not None else _DEFAULT_DATETIME_FORMAT)
        if timezone is not None:
            more.append(timezone)
        return self._say("SAY DATETIME", _epochSeconds(time), escapeDigits, *more)

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
        return self._say("SAY TIME", _epochSeconds(time), escapeDigits)

    def sendImage(self, filename: str) -> Deferred[int]:
        """SEND IMAGE: send an image (few channels support it).

        :return: Deferred firing with the result code (0); fails with
            AGICommandFailure on error or hangup (-1).
        """
        return self._command(_resultInt, "SEND IMAGE", filename)

    def sendText(self, text: str) -> Deferred[int]:
        """SEND TEXT: send a text message (few channels support it).

        :return: Deferred firing with the result code (0); fails with
            AGICommandFailure on error or hangup (-1).
        """
        return self._command(_resultInt, "SEND TEXT", text)

    def setAutoHangup(self, time: float) -> Deferred[int]:
        """SET AUTOHANGUP: hang the channel up *time* seconds from now (0 cancels).

        :return: Deferred firing with the result code (0).
        """
        return self._command(_resultInt, "SET AUTOHANGUP", _decimal(time))

    def setCallerID(self, number: str) -> Deferred[int]:
        """SET CALLERID: set the caller ID (``'"Name" <number>'`` or a number).

        :return: Deferred firing with the result code (1).
        """
        return self._command(_resultInt, "SET CALLERID", number, failOnMinusOne=False)

    def setContext(self, context: str) -> Deferred[int]:
        """SET CONTEXT: the context the dialplan continues in after AGI.

        :return: Deferred firing with the result code (0).
        """
        return self._command(_resultInt, "SET CONTEXT", context, failOnMinusOne=False)

    def setExtension(self, extension: str) -> Deferred[int]:
        """SET EXTENSION: the extension the dialplan continues at after AGI.

        :return: Deferred firing with the result code (0).
        """
        return self._command(_resultInt, "SET EXTENSION", extension, failOnMinusOne=False)

    def setMusic(self, on: bool = True, musicClass: Optional[str] = None) -> Deferred[int]:
        """SET MUSIC: start (*on*) or stop music on hold, of *musicClass*.

        :return: Deferred firing with the result code (0).
        """
        if musicClass is None:
            return self._command(_resultInt, "SET MUSIC", "on" if on else "off",
                                 failOnMinusOne=False)
        return self._command(_resultInt, "SET MUSIC", "on" if on else "off", musicClass,
                             failOnMinusOne=False)

    def setPriority(self, priority: Union[int, str]) -> Deferred[int]:
        """SET PRIORITY: the priority (number or label) the dialplan continues at.

        :return: Deferred firing with the result code (0).
        """
        return self._command(_resultInt, "SET PRIORITY", str(priority), failOnMinusOne=False)

    def setVariable(self, variable: str, value: Argument) -> Deferred[int]:
        """SET VARIABLE: set a channel variable; the value arrives intact (dead-safe).

        :return: Deferred firing with the result code (1).
        """
        return self._command(_resultInt, "SET VARIABLE", variable, value,
                             failOnMinusOne=False)

    def _speech(self, command: str, *arguments: Argument) -> Deferred[int]:
        return self._command(None, command, *arguments).addCallback(
            _failUnless, command).addCallback(_resultInt)

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
        arguments: List[Argument] = [prompt, _milliseconds(timeout)]
        if offset is not None:
            arguments.append(int(offset))
        line = "SPEECH RECOGNIZE"
        return self._command(None, line, *arguments).addCallback(
            _failUnless, line).addCallback(_speechRecognition)

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
            return self._command(_codeAndEndpos, "STREAM FILE", filename,
                                 _escapeDigits(escapeDigits))
        return self._command(_codeAndEndpos, "STREAM FILE", filename,
                             _escapeDigits(escapeDigits), int(offset))

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
        return self._command(None, line, mode).addCallback(_failUnless, line).addCallback(
            _resultInt)

    def verbose(self, message: str, level: Optional[int] = None) -> Deferred[int]:
        """VERBOSE: log *message* on the Asterisk console at *level* 1-4 (dead-safe).

        :return: Deferred firing with the result code (1).
        """
        if level is None:
            return self._command(_resultInt, "VERBOSE", message, failOnMinusOne=False)
        return self._command(_resultInt, "VERBOSE", message, int(level), failOnMinusOne=False)

    def waitForDigit(self, timeout: float) -> Deferred[int]:
        """WAIT FOR DIGIT: wait up to *timeout* seconds (negative: forever) for a digit.

        :return: Deferred firing with the digit's ASCII code (``49`` for
            ``"1"``, ``35`` for ``"#"``; :func:`digitChar` gives the
            character) or ``0`` on timeout; fails with AGICommandFailure on
            error or hangup (-1).
        """
        return self._command(_resultInt, "WAIT FOR DIGIT", _milliseconds(timeout))
