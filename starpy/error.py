"""The exceptions StarPy raises and fails Deferreds with.

Every exception StarPy defines is here, and derives from :class:`StarpyError`;
the modules where some of them were first defined (``starpy.channel``,
``starpy.asyncagi``, ``starpy.appconfig``...) still export them under the same
names.  The names upstream
StarPy used (``AMICommandFailure``, ``AGICommandFailure``, ``MenuFinished``,
``MenuExit``, ``MenuTimeout``, ``MenuUnexpectedOption``) are kept, and the
finer errors below derive from them so that old ``except`` clauses still
catch them.

Whose fault, as h11 tells them apart:

- :class:`LocalProtocolError`: the application asked for something that
  cannot be sent as it is (a header value with a line break, a line longer
  than Asterisk reads, an argument Asterisk's parser would change).  It is
  raised synchronously, before a byte is written; the connection and
  everything sent or queued before it are untouched, so the application can
  correct the call and go on.  It is also a ``ValueError``, which is what
  these refusals raised before.  A value of the wrong type (an object where
  text is wanted) stays a plain ``TypeError``, as Python raises.
- :class:`RemoteProtocolError`: the peer sent something its protocol does
  not allow (a banner that is not AMI's, a message over the size bound, a
  reply line that is not AGI).  It is the base of :class:`AMIProtocolError`
  (so of :class:`AMICodecError`) and of :class:`AGIProtocolError` (so of
  :class:`AGIReplyError`).  Garbage in the framing (a banner, a line, a
  message) closes the connection, and what waited on it fails; a reply
  that is well framed but malformed for its command (:class:`AGIReplyError`)
  fails that command only.

A refusal by Asterisk itself (``Response: Error``, an AGI ``510``) is
neither: it is a well-formed answer, :class:`AMICommandFailure` or
:class:`AGICommandFailure`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Sequence

from twisted.internet.defer import TimeoutError as _DeferTimeoutError

if TYPE_CHECKING:  # pragma: no cover - names for annotations only
    from starpy.appconfig import ConfigProblem
    from starpy.calls import Call
    from starpy.channelobjects import Channel

__all__ = [
    "StarpyError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "AMIError",
    "AMICommandFailure",
    "AMIAuthenticationError",
    "AMITimeout",
    "AMIConnectionLost",
    "AMIProtocolError",
    "AMIOriginateFailure",
    "AGIError",
    "AGICommandFailure",
    "AGIInvalidCommand",
    "AGIDeadChannel",
    "AGIUsageError",
    "AGIHangup",
    "AGICommandTimeout",
    "AGIProtocolError",
    "AGIReplyError",
    "MenuFinished",
    "MenuExit",
    "MenuTimeout",
    "MenuUnexpectedOption",
    "MenuDefinitionError",
    "ConfigError",
    "TLSUnavailableError",
    "OUTCOMES",
    "outcomeName",
    "AMICodecError",
    "NoServerReady",
    "OriginateFailed",
    "AsyncAGIRejected",
    "ChannelHungUp",
    "TrackerStopped",
    "StarpyConfigError",
    "CallWaitTimeout",
    "CommandError",
]


class StarpyError(Exception):
    """Base of every error StarPy raises."""


# -- Whose fault: the application's or the peer's ---------------------------


class LocalProtocolError(StarpyError, ValueError):
    """The application asked for something that cannot be sent.

    Raised before anything is written: what was sent or queued before is
    untouched and the connection stays usable.  The message names what was
    wrong (the header, the argument, the limit).  It is also a
    ``ValueError``, as these refusals were before it existed, so
    ``except ValueError`` still catches it.
    """


class RemoteProtocolError(StarpyError):
    """The peer sent something its protocol does not allow.

    Base of :class:`AMIProtocolError` and :class:`AGIProtocolError`.  A
    protocol that meets one in the framing closes the connection, and the
    operations waiting on it fail; a malformed reply to one command
    (:class:`AGIReplyError`) fails that command.
    """


# -- AMI -------------------------------------------------------------------


class AMIError(StarpyError):
    """Base of the errors of the AMI client."""


class AMICommandFailure(AMIError):
    """Asterisk answered an action with ``Response: Error``.

    :ivar action: the name of the action that failed.
    :ivar message: Asterisk's ``Message`` header (may be empty).
    :ivar response: the whole response, a :class:`starpy.codec.ami.Message`
        (or ``None`` when the failure is not tied to one response).
    """

    def __init__(
        self,
        action: str,
        message: str,
        response: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(action, message)
        self.action = action
        self.message = message
        self.response = response

    def __str__(self) -> str:
        return "%s failed: %s" % (self.action, self.message or "(no message)")


class AMIAuthenticationError(AMICommandFailure):
    """The login was refused (wrong user name, secret or key)."""


#: ``Reason`` codes of ``OriginateResponse`` and their outcome names.
OUTCOMES: Dict[int, str] = {
    0: "failed",
    1: "hung up",
    3: "no answer",
    4: "answered",
    5: "busy",
    8: "congestion",
}


def outcomeName(reason: Optional[int], response: str = "") -> str:
    """The outcome name of an ``OriginateResponse`` ``Reason`` code.

    Unknown codes give ``'failed'`` for ``Response: Failure`` (``'answered'``
    for a ``Success``, which only code 4 has been seen with).
    """
    if reason is not None and reason in OUTCOMES:
        return OUTCOMES[reason]
    return "answered" if response.lower() == "success" else "failed"


class AMIOriginateFailure(AMICommandFailure):
    """An asynchronous Originate ended with ``Response: Failure``.

    :ivar reason: the ``Reason`` header of the ``OriginateResponse`` event as
        an int (Asterisk's ``AST_CONTROL_*`` code: 0 no such channel or
        failure, 1 hung up, 3 ring timeout, 5 busy, 8 congestion...), or
        ``None`` when absent; :attr:`outcome` names it.
    """

    def __init__(
        self,
        action: str,
        message: str,
        response: Optional[Mapping[str, Any]] = None,
        reason: Optional[int] = None,
    ) -> None:
        super().__init__(action, message, response)
        self.reason = reason

    @property
    def outcome(self) -> str:
        """What happened, by name, from :attr:`reason`: ``'busy'``,
        ``'no answer'``, ``'congestion'``, ``'failed'`` (no such extension
        or channel), ``'hung up'`` (see :data:`starpy.originate.OUTCOMES`)."""
        return outcomeName(self.reason, "failure")

    def __str__(self) -> str:
        return "%s failed: %s (reason %s)" % (self.action, self.message, self.reason)


class AMITimeout(AMIError, TimeoutError):
    """No reply to an action within its timeout.

    :ivar action: the name of the action.
    :ivar timeout: the timeout in seconds.
    """

    def __init__(self, action: str, timeout: float) -> None:
        super().__init__(action, timeout)
        self.action = action
        self.timeout = timeout

    def __str__(self) -> str:
        return "%s: no reply within %g seconds" % (self.action, self.timeout)


class AMIConnectionLost(AMIError, ConnectionError):
    """The AMI connection was lost (or is not established) while an action waited.

    :ivar action: the name of the action that was waiting, or ``None``.
    :ivar reason: what ended the connection, as text.
    """

    def __init__(self, action: Optional[str], reason: str = "connection lost") -> None:
        super().__init__(action, reason)
        self.action = action
        self.reason = reason

    def __str__(self) -> str:
        if self.action is None:
            return "AMI %s" % (self.reason,)
        return "%s: AMI %s" % (self.action, self.reason)


class AMIProtocolError(AMIError, RemoteProtocolError):
    """The peer sent something that is not AMI (or that breaks a bound).

    ``whenBanner()`` and ``login()`` fail with it when the peer's banner is
    not AMI's (an SSH or HTTP server answered); the codec's
    :class:`AMICodecError <starpy.codec.ami.AMICodecError>` (a message over the size bound)
    is one.  Actions waiting when such an error closes the connection fail
    with :class:`AMIConnectionLost`, its ``__cause__`` being this error.
    """


# -- AGI -------------------------------------------------------------------


class AGIError(StarpyError):
    """Base of the errors of the AGI layers."""


class AGICommandFailure(AGIError):
    """An AGI command failed.

    This is upstream StarPy's error for AGI failures and the base of all the
    finer AGI errors below.

    :ivar command: the command line that was sent (without newline), or
        ``None``.
    :ivar code: the numeric status of the reply (200, 510, 511, 520), or
        ``None``.
    :ivar text: the reply text, or a description.
    """

    def __init__(
        self,
        command: Optional[str] = None,
        code: Optional[int] = None,
        text: str = "",
    ) -> None:
        super().__init__(command, code, text)
        self.command = command
        self.code = code
        self.text = text

    def __str__(self) -> str:
        if self.command is None:
            return self.text
        return "%s: %s" % (self.command, self.text)


class AGIInvalidCommand(AGICommandFailure):
    """Asterisk answered ``510 Invalid or unknown command``."""


class AGIDeadChannel(AGICommandFailure):
    """Asterisk answered ``511``: the command is not permitted on a dead channel."""


class AGIUsageError(AGICommandFailure):
    """Asterisk answered with a ``520`` usage block (wrong arguments).

    :ivar usage: the usage text Asterisk sent, lines joined with newlines.
    """

    def __init__(
        self,
        command: Optional[str] = None,
        code: Optional[int] = 520,
        text: str = "",
        usage: str = "",
    ) -> None:
        super().__init__(command, code, text)
        self.usage = usage


class AGIHangup(AGICommandFailure):
    """The channel has hung up (or the AGI session ended) before the command ran."""


class AGICommandTimeout(AGICommandFailure, TimeoutError):
    """An AGI command got no reply within its timeout."""


class AGIProtocolError(AGIError, RemoteProtocolError):
    """The peer sent something that is not AGI (or that breaks a bound)."""


class AGIReplyError(AGIProtocolError, ValueError):
    """A reply is malformed for its command: a ``200`` with no ``result=``,
    or a result or value that should be a number and is not
    (``200 result=abc``, ``endpos=abc``).

    It is also a ``ValueError``, which is what such replies raised
    before.

    :ivar command: the command line the reply answers, or ``None``.
    :ivar reply: the reply as received, or ``None``.
    """

    def __init__(self, message: str, command: Optional[str] = None,
                 reply: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.command = command
        self.reply = reply

    def __str__(self) -> str:
        if self.command is None:
            return self.message
        return "%s: %s" % (self.command, self.message)


# -- Menus -----------------------------------------------------------------


class MenuFinished(StarpyError):
    """A menu finished without a valid selection (repetitions exhausted)."""


class MenuExit(MenuFinished):
    """The caller chose an ``ExitOn`` option: return to the parent menu."""


class MenuTimeout(MenuFinished):
    """The caller entered nothing within the menu's timeout."""


class MenuUnexpectedOption(MenuFinished):
    """The caller entered an option the menu does not know."""


class MenuDefinitionError(StarpyError, ValueError):
    """A menu model is invalid: raised when it is built, never during a call.

    :ivar message: what is wrong.
    :ivar field: where, as a path such as ``"options[2].menu.maxRepetitions"``
        (``""`` when the problem is the model as a whole).
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, field)
        self.message = message
        self.field = field

    def within(self, prefix: str) -> "MenuDefinitionError":
        """The same error, its field path put under *prefix*."""
        if not prefix:
            return self
        if not self.field:
            return MenuDefinitionError(self.message, prefix)
        joiner = "" if self.field.startswith("[") else "."
        return MenuDefinitionError(self.message, prefix + joiner + self.field)

    def __str__(self) -> str:
        if not self.field:
            return self.message
        return "%s: %s" % (self.field, self.message)


# -- Configuration files ---------------------------------------------------


class ConfigError(StarpyError, ValueError):
    """An Asterisk configuration file is malformed (see :mod:`starpy.config`).

    :ivar message: what is wrong.
    :ivar file: the file name, or ``None``.
    :ivar line: the 1-based line number, or ``None``.
    """

    def __init__(
        self,
        message: str,
        file: Optional[str] = None,
        line: Optional[int] = None,
    ) -> None:
        super().__init__(message, file, line)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        if self.line is None:
            return "%s: %s" % (self.file, self.message)
        return "%s:%d: %s" % (self.file, self.line, self.message)


class TLSUnavailableError(StarpyError, RuntimeError):
    """TLS was asked for, but Twisted cannot make TLS connections here.

    Twisted needs pyOpenSSL and service_identity for TLS; StarPy's ``tls``
    extra (``pip install 'starpy[tls]'``) installs them.  Raised before
    anything connects.
    """


# -- AMI, beyond the base errors -------------------------------------------


class AMICodecError(AMIProtocolError, ValueError):
    """The byte stream cannot be AMI (for instance a message over the size bound).

    A :class:`AMIProtocolError <starpy.error.AMIProtocolError>` (and, as before, a
    ``ValueError``).

    The parser that raised it is unusable afterwards: the connection should be
    closed.
    """


class NoServerReady(AMIConnectionLost):
    """No server of the pool could take the action (none logged in, or the
    named one is not logged in and waiting was not asked for)."""


class OriginateFailed(AMIOriginateFailure):
    """An asynchronous Originate did not answer.

    :ivar outcome: ``'busy'``, ``'no answer'``, ``'congestion'``,
        ``'failed'`` or ``'hung up'`` (see :data:`OUTCOMES`; every
        :class:`AMIOriginateFailure` has it).
    :ivar reason: the ``Reason`` code (or ``None``).
    :ivar seconds: how long it took, on the tracker's clock.
    :ivar uniqueid: the ``ChannelId`` the originated channel had.
    :ivar call: the :class:`Call <starpy.calls.Call>` its channels made (they
        exist for most failures: busy, no answer, congestion), or ``None``.
    """

    def __init__(self, action: str, message: str, response: Optional[Mapping[str, Any]],
                 reason: Optional[int], seconds: float, uniqueid: str,
                 call: Optional["Call"] = None) -> None:
        super().__init__(action, message, response, reason)
        self.seconds = seconds
        self.uniqueid = uniqueid
        self.call = call

    def __str__(self) -> str:
        return "%s %s: %s after %.3f s (reason %s)" % (
            self.action, self.uniqueid, self.outcome, self.seconds, self.reason)


# -- AGI sessions ----------------------------------------------------------


class AsyncAGIRejected(AGIHangup):
    """Asterisk refused an ``Action: AGI``: the channel does not exist (any
    more) or is not in AsyncAGI.

    It is an :class:`AGIHangup` (the session is over for that
    channel) whose ``text`` and :attr:`message` are Asterisk's ``Message``
    (``Channel Local/300@asyncagi-0000000a;2 does not exist.``).

    :ivar response: the ``Response: Error`` message.
    """

    def __init__(self, command: Optional[str], message: str,
                 response: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(command, None, message)
        self.message = message
        self.response = response


# -- Channel tracking ------------------------------------------------------


class ChannelHungUp(StarpyError):
    """The channel hung up before what was awaited happened.

    :ivar channel: the :class:`Channel`.
    """

    def __init__(self, channel: "Channel", waitingFor: str) -> None:
        super().__init__(channel.name, waitingFor)
        self.channel = channel
        self.waitingFor = waitingFor

    def __str__(self) -> str:
        return "%s hung up while waiting for %s" % (self.channel.name, self.waitingFor)


class TrackerStopped(StarpyError):
    """The tracker was stopped while something was awaited."""


# -- Applications and the starpy command -----------------------------------


class StarpyConfigError(ConfigError):
    """``starpy.conf`` has problems; :attr:`problems` lists every one.

    ``str()`` is the first problem, with a count of the others.
    """

    def __init__(self, problems: Sequence["ConfigProblem"]) -> None:
        first = problems[0]
        more = len(problems) - 1
        message = first.describe()
        if more:
            message += " (and %d more problem%s)" % (more, "" if more == 1 else "s")
        super().__init__(message)
        self.problems = list(problems)


class CallWaitTimeout(StarpyError, _DeferTimeoutError):
    """No call came for :meth:`UtilApplication.waitForCallOn` in time.

    :ivar extension: the extension waited on.
    :ivar context: the context waited on, or ``None`` for any.
    :ivar timeout: the seconds waited.
    """

    def __init__(self, extension: str, context: Optional[str], timeout: float) -> None:
        where = repr(extension) if context is None else "%r in context %r" % (extension, context)
        super().__init__("no call on extension %s within %g s" % (where, timeout))
        self.extension = extension
        self.context = context
        self.timeout = timeout

    def __str__(self) -> str:
        return str(self.args[0])


class CommandError(StarpyError):
    """A ``starpy`` sub-command cannot go on: *message* is printed, *status*
    (one of :data:`starpy.cli.EXIT_CODES`) returned."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
