"""The AGI command API, one implementation for every transport.

:class:`AGISession` holds all the AGI commands of current Asterisk as
camelCase methods returning Deferreds (``answer``, ``streamFile``,
``getData``, ``sayDateTime``...), plus ``wait``, ``finish`` and
``jumpOnError``.  Each session owns a :class:`CommandQueue`: one command in
flight, the rest waiting behind it.  A transport subclasses
:class:`AGISession` and provides only:

* the function that puts one :class:`QueuedCommand` on the wire (the
  session's *transmit* argument), and the replies, fed to the queue
  (:meth:`CommandQueue.replyArrived` or :meth:`CommandQueue.complete`);
* :meth:`AGISession.finish`: end the AGI session;
* calls to :meth:`AGISession.hangupReceived` when the channel hangs up, and
  to :meth:`AGISession.sessionClosed` when the session can carry no more
  commands.

FastAGI (:mod:`starpy.fastagi`), classic AGI (:mod:`starpy.classicagi`) and
AsyncAGI over AMI (:mod:`starpy.asyncagi`) all drive the same methods.
:func:`runHandler` runs a call's handler the way every transport does, and
:class:`InSequence` runs steps one after the other.

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

from starpy.agi._arguments import LINES as _LINES  # noqa: F401 - read by tests/test_perf_paths
from starpy.agi._arguments import LINES_KEPT as _LINES_KEPT  # noqa: F401
from starpy.agi._arguments import Digits
from starpy.agi._queue import DEAD_SAFE_COMMANDS, NOT_CONVERTED, CommandQueue, QueuedCommand, isDeadSafe
from starpy.agi._results import AGIResponse, SpeechRecognition, SpeechResult, digitChar
from starpy.agi._sequence import Handler, InSequence, callHandler, runHandler
from starpy.agi._session import AGISession, checkCommandTimeout, log

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
    "CommandQueue",
    "NOT_CONVERTED",
    "isDeadSafe",
    "Handler",
    "log",
    "checkCommandTimeout",
]
