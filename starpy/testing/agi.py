"""A fake Asterisk that places FastAGI calls: Asterisk's side of the wire.

It is for the authors of AGI applications (FastAGI handlers, menus, classic
AGI scripts): test them without an Asterisk, in unit tests (in memory, on a
simulated clock) or against a running server (over TCP, as ``starpy fake
--calls N`` does).  The fake connects to your FastAGI server, sends the
environment block exactly as Asterisk 22 does, then answers every command
line from a simulated channel: sound files with durations, DTMF digits
arriving at given times, a hangup at a given time, channel variables and the
AstDB kept in memory, and Asterisk's replies down to the ``510``/``511``/
``520`` lines and the unsolicited ``HANGUP`` line.

By default (a bare :obj:`SimulatedChannel`) the call is answered, the caller
presses nothing and never hangs up, the sound files ``hello-world`` and
``beep`` exist (any other fails to play, as a missing file does), ``EXEC``
knows ``NoOp``, ``Verbose``, ``Log``, ``Set``, ``Answer`` and ``Hangup``, and
there are no ``GOSUB`` targets, speech engines or other channels.  Script
more through the channel's arguments: ``dtmf`` (:obj:`spacedDigits`), ``hangupAt``,
``sounds``, ``applications`` (an :obj:`Application` per name), ``subroutines`` (a
:obj:`Subroutine` per location), ``variables``, ``database`` (an :obj:`AstDB`),
``otherChannels``, ``speechEngines``.

It speaks bytes only and shares no code with StarPy's AGI client, so a test
that drives StarPy's server with it checks StarPy against Asterisk's rules,
not against itself.  Time goes through an injected
``twisted.internet.interfaces.IReactorTime`` (a
``twisted.internet.task.Clock`` in tests), so a call with minutes of
prompts runs in microseconds.

A call in memory::

    from twisted.internet.task import Clock
    from starpy import fastagi
    from starpy.testing.agi import SimulatedChannel, placeCallInMemory, spacedDigits

    channel = SimulatedChannel(
        request="agi://127.0.0.1:4573/menu",
        dtmf=spacedDigits("12", start=2.0, interval=1.0),
        hangupAt=30.0,
    )
    call = placeCallInMemory(fastagi.FastAGIFactory(main), channel, Clock())
    transcript = call.runUntilFinished()
    print(transcript.format())

Over TCP: ``placeCallTCP(reactor, "127.0.0.1", 4573, channel)`` returns a
Deferred that fires with the :class:`Transcript` when the server closes the
connection (Asterisk never closes a FastAGI socket itself).

Times are float seconds everywhere (StarPy's rule); times in a channel's
schedule (``dtmf``, ``hangupAt``) count from the moment the call connects.

The channel's scripts (``EXEC`` applications, ``GOSUB`` subroutines) are test
code, and when one raises, the exception is not turned into a reply: in
memory it comes out of the call that moved the bytes (``placeCallInMemory``,
``flush``, ``advance``, ``runUntilFinished``), so the test fails; over TCP
the reactor logs it as an unhandled error and drops the connection (a test
harness that fails on Twisted's logged failures, as StarPy's
``tests/conftest.py`` does, sees it); under AsyncAGI
(:mod:`starpy.testing.asyncagi`) it is a failed script of the fake AMI
server, logged at ``ERROR`` on ``starpy.testing.ami``.
"""

from __future__ import annotations

import collections
import logging
import re
import time as _time
from typing import Callable, Generator, Mapping, Sequence, Union, cast

import attrs
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import (
    IDelayedCall,
    IProtocol,
    IProtocolFactory,
    IReactorTCP,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import ClientFactory, Protocol, connectionDone
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from starpy.testing._agiusage import USAGE

__all__ = [
    "MAX_ARGUMENTS",
    "DEAD_SAFE_COMMANDS",
    "AGI_COMMANDS",
    "DEFAULT_SOUNDS",
    "Application",
    "Subroutine",
    "AstDB",
    "Recording",
    "SimulatedChannel",
    "TranscriptEntry",
    "Transcript",
    "FakeAGICaller",
    "FakeAGICallerFactory",
    "InMemoryCall",
    "parseAGIArguments",
    "agiBufferForVersion",
    "spacedDigits",
    "placeCall",
    "placeCallTCP",
    "placeCallInMemory",
]

log = logging.getLogger(__name__)

#: Most arguments res_agi's parser keeps (``MAX_ARGS - 1``); the rest of the
#: line is dropped.
MAX_ARGUMENTS = 127

#: res_agi reads a command with ``fgets`` into its ``AGI_BUF_LEN``-byte
#: buffer, so at most ``AGI_BUF_LEN - 1`` bytes (newline included) make one
#: command: a longer line is cut there and the rest is read as the next
#: command.  The buffer grew from 2048 to 8192 bytes in 20.16.0, 21.11.0,
#: 22.6.0 (so certified 22.8) and 23.0.0.
_SMALL_AGI_BUFFER = 2048
_LARGE_AGI_BUFFER = 8192
_LARGE_BUFFER_FROM = {20: 16, 21: 11, 22: 6}
_RELEASE = re.compile(r"(?:certified[-/])?([0-9]+)\.([0-9]+)")


def agiBufferForVersion(version: str) -> int:
    """The size of res_agi's command buffer in the Asterisk release *version*
    (as ``agi_version`` spells it); 2048 for anything unrecognised."""
    match = _RELEASE.match(version.strip())
    if match is None:
        return _SMALL_AGI_BUFFER
    major, minor = int(match.group(1)), int(match.group(2))
    if major >= 23 or minor >= _LARGE_BUFFER_FROM.get(major, 1000):
        return _LARGE_AGI_BUFFER
    return _SMALL_AGI_BUFFER

_SAMPLE_RATE = 8000
_FRAME_MS = 20
_ANY_DIGIT = "0123456789*#ABCD"

_STATE_RING = 4
_STATE_UP = 6

#: Sound files whose length is known from captures of a real Asterisk 22
#: (``hello-world`` ends at sample 11234, ``beep`` at 3404), in seconds.
DEFAULT_SOUNDS: Mapping[str, float] = {
    "hello-world": 11234 / _SAMPLE_RATE,
    "beep": 3404 / _SAMPLE_RATE,
}

_DEAD_CHANNEL = "511 Command Not Permitted on a dead channel or intercept routine"

# Handler return codes, as res_agi's (RESULT_SUCCESS/SHOWUSAGE/FAILURE).
_SUCCESS = 0
_SHOWUSAGE = 1
_FAILURE = 2


# ---------------------------------------------------------------------------
# Asterisk's argument parser and C number scanning


def parseAGIArguments(line: str, maxArguments: int = MAX_ARGUMENTS) -> list[str]:
    """Split an AGI command line into words exactly as res_agi's
    ``parse_args`` does.

      - spaces and tabs separate words, outside double quotes;
      - double quotes group words and may start or stop in the middle of a
        word (``a"b c"d`` is the one word ``ab cd``); ``""`` is an empty word;
      - a backslash makes the next character literal (``\\"``, ``\\\\``,
        a backslash and a space); a trailing backslash vanishes;
      - single quotes are ordinary characters;
      - after ``maxArguments`` words the rest of the line is dropped (Asterisk
        logs "Too many arguments, truncating").  Asterisk does not check the
        limit when a quote opens a word; the fake drops that word too.

    :param line: one command line, without its newline.
    :return: the words; ``[]`` for an empty line.
    """
    args: list[list[str]] = []
    quoted = False
    escaped = False
    whitespace = True
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace and len(args) < maxArguments:
                args.append([])
                whitespace = False
            continue
        if char in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            if len(args) >= maxArguments:
                continue
            args.append([])
            whitespace = False
        args[-1].append(char)
        escaped = False
    return ["".join(arg) for arg in args]


_C_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_C_FLOAT = re.compile(
    r"[ \t\n\v\f\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)


def _scanInt(text: str) -> int | None:
    """``sscanf(text, "%d")``: the leading integer, or None."""
    match = _C_INT.match(text)
    if match is None:
        return None
    return max(-(2**31), min(2**31 - 1, int(match.group(1))))


def _atoi(text: str) -> int:
    """``atoi(text)``: the leading integer, or 0."""
    value = _scanInt(text)
    return 0 if value is None else value


def _scanFloat(text: str) -> float | None:
    """``sscanf(text, "%lf")``: the leading number, or None."""
    match = _C_FLOAT.match(text)
    return None if match is None else float(match.group(1))


def _isTrue(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"yes", "true", "y", "t", "1", "on"}


def _isFalse(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"no", "false", "n", "f", "0", "off"}


def spacedDigits(
    digits: str, start: float = 2.0, interval: float = 1.0
) -> list[tuple[float, str]]:
    """A DTMF schedule for :obj:`SimulatedChannel`'s ``dtmf``: ``digits`` one by
    one, the first at ``start`` seconds after the call connects, then one
    every ``interval`` seconds.

    ``spacedDigits("12#")`` is ``[(2.0, "1"), (3.0, "2"), (4.0, "#")]``; add
    two schedules to press keys at two moments.  This is what the captures'
    ``SendDTMF(123,1000,200)`` caller did.

    :return: ``(time, digit)`` pairs, in time order.
    """
    return [(start + index * interval, digit) for index, digit in enumerate(digits)]


# ---------------------------------------------------------------------------
# The simulated channel


class AstDB:
    """Asterisk's database (AstDB) in memory.

    Keys are stored as Asterisk stores them, ``/family/key``.  Share one
    instance between channels to share the database between calls.
    """

    def __init__(self, entries: Mapping[tuple[str, str], str] | None = None) -> None:
        self._entries: dict[str, str] = {}
        for (family, key), value in (entries or {}).items():
            self.put(family, key, value)

    def put(self, family: str, key: str, value: str) -> None:
        """Store ``value`` under ``family``/``key``."""
        self._entries[f"/{family}/{key}"] = value

    def get(self, family: str, key: str) -> str | None:
        """The value under ``family``/``key``, or None."""
        return self._entries.get(f"/{family}/{key}")

    def delete(self, family: str, key: str) -> bool:
        """Remove one entry; False if it did not exist."""
        return self._entries.pop(f"/{family}/{key}", None) is not None

    def deleteTree(self, family: str, keytree: str | None = None) -> int:
        """Remove ``family`` or ``family``/``keytree`` and everything below it.

        :return: how many entries were removed.
        """
        prefix = f"/{family}" if not keytree else f"/{family}/{keytree}"
        doomed = [k for k in self._entries if k == prefix or k.startswith(prefix + "/")]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    def asDict(self) -> dict[str, str]:
        """A copy of all entries, keyed ``/family/key``."""
        return dict(self._entries)


@attrs.define
class Recording:
    """A file recorded by ``RECORD FILE`` on a simulated channel.

    :ivar endpos: the sample offset Asterisk reported.
    :ivar reason: ``dtmf``, ``timeout`` or ``hangup``.
    """

    filename: str
    format: str
    endpos: int
    reason: str
    digit: str = ""


#: A dialplan application for ``EXEC``: called with the channel and the
#: options string, returns the application's result (0 to continue).
Application = Callable[["SimulatedChannel", str], int]

#: A dialplan subroutine for ``GOSUB``: called with the channel and the
#: arguments (``ARG1``...), returns the value of ``Return()`` (GOSUB_RETVAL).
Subroutine = Callable[["SimulatedChannel", list[str]], Union[str, None]]


def _appNoOp(channel: SimulatedChannel, options: str) -> int:
    return 0


def _appSet(channel: SimulatedChannel, options: str) -> int:
    name, sep, value = options.partition("=")
    if sep:
        channel.setVariable(name.strip(), value)
    return 0


def _appAnswer(channel: SimulatedChannel, options: str) -> int:
    channel.state = _STATE_UP
    return 0


def _appHangup(channel: SimulatedChannel, options: str) -> int:
    channel.hangup()
    return -1


def _defaultApplications() -> dict[str, Application]:
    return {
        "NoOp": _appNoOp,
        "Verbose": _appNoOp,
        "Log": _appNoOp,
        "Set": _appSet,
        "Answer": _appAnswer,
        "Hangup": _appHangup,
    }


@attrs.define(eq=False)
class SimulatedChannel:
    """The channel a fake Asterisk runs an AGI on, and the caller behind it.

    Every argument is a keyword with a default, so ``SimulatedChannel()`` is a
    call to ``agi://127.0.0.1:4573/`` from ``PJSIP/caller-00000001``, answered,
    in context ``default`` at extension ``s``, whose caller never presses a
    key and never hangs up.

    Its identity is what the environment block says; every value that varies
    between real calls is configurable, so a test can reproduce a capture
    byte for byte.  What the caller does (``dtmf``, ``hangupAt``) counts in
    seconds after the call connects.  State, changed by the call and readable
    afterwards: ``state`` (6 is up), ``variables``, ``database``, ``hungUp``,
    ``verboseMessages``, ``recordings``, ``sentTexts``, ``musicClass``.

    :ivar request: the AGI URL as written in the dialplan (default
        ``agi://127.0.0.1:4573/``); ``agi_network_script`` is its path
        without the leading slash.
    :ivar arguments: the dialplan's AGI arguments (``agi_arg_1``...;
        default none).
    :ivar name: the channel name (``agi_channel``, default
        ``PJSIP/caller-00000001``); ``channelType`` (``agi_type``) defaults to
        its technology, the part before ``/``.
    :ivar uniqueId: ``agi_uniqueid`` (default ``1700000000.1``).
    :ivar threadId: ``agi_threadid``.
    :ivar version: Asterisk's version, ``agi_version`` (default ``22.10.1``);
        it also decides the command buffer (see ``agiBuffer``).
    :ivar language: ``agi_language`` (default ``en``).
    :ivar callerId: the caller's number, or None for ``unknown`` (then,
        with no name either, ``agi_callingpres`` is 67).
    :ivar callerIdName: the caller's name, or None for ``unknown``.
    :ivar callingPres: ``agi_callingpres``; None (the default) for what
        Asterisk sends for the caller ID given (0, or 67 without one).
    :ivar callingAni2: ``agi_callingani2`` (default 0); ``callingTon``
        (``agi_callington``) and ``callingTns`` (``agi_callingtns``) likewise.
    :ivar dnid: ``agi_dnid``, None for ``unknown``; ``rdnis`` (``agi_rdnis``)
        likewise.
    :ivar context: ``agi_context`` (default ``default``); ``extension``
        (``agi_extension``, default ``s``) and ``priority`` (``agi_priority``,
        default 1) are the dialplan location of the AGI.
    :ivar accountCode: ``agi_accountcode`` (default empty).
    :ivar answered: whether the channel is up when the AGI starts (default
        True); False leaves it ringing until ``ANSWER``.
    :ivar dtmf: ``(time, digit)`` pairs (default none; :obj:`spacedDigits`
        builds them).  A digit interrupts a running
        ``STREAM FILE``/``SAY``/``GET OPTION``/``CONTROL STREAM FILE``/
        ``RECORD FILE`` if it is one of the command's escape digits; ``WAIT FOR
        DIGIT``/``GET DATA`` take any digit; a digit that arrives while no
        command runs is discarded, as res_agi does.
    :ivar hangupAt: when the caller hangs up, or None (the default) to stay
        on the line.
    :ivar sounds: sound file name -> length in seconds (default
        :obj:`DEFAULT_SOUNDS`: ``hello-world`` and ``beep``).  Playing any other
        file fails as in Asterisk (``200 result=-1 endpos=0``).
    :ivar sayItemDuration: seconds per spoken item of the ``SAY`` commands
        (a digit, a letter, "forty"...; default 0.8), unless the item's file
        (for example ``digits/4``) is in ``sounds``.
    :ivar applications: ``EXEC`` applications by name (case-insensitive):
        an :obj:`Application` is called with the channel and the options string
        and returns the application's result.  By default ``NoOp``,
        ``Verbose``, ``Log``, ``Set``, ``Answer`` and ``Hangup``; any other
        answers ``200 result=-2`` as for an application Asterisk lacks.
    :ivar subroutines: ``GOSUB`` targets by ``(context, extension, priority)``
        (default none: ``GOSUB`` fails as for a missing location).
    :ivar gosubDuration: seconds between GOSUB's ``100`` and ``200`` lines.
    :ivar otherChannels: other channels' names and states, for
        ``CHANNEL STATUS name`` and ``HANGUP name``.
    :ivar speechEngines: names of speech engines; empty (the default) means
        ``SPEECH CREATE`` fails.
    :ivar digitTimeout: the dialplan's digit timeout (``GET OPTION`` without
        a timeout waits this long; default 5 s).
    :ivar agiBuffer: the size of res_agi's command buffer; None (the
        default) for the one of ``version`` (:obj:`agiBufferForVersion`: 8192 for
        22.10.1).  A command line longer than ``agiBuffer - 1`` bytes, its
        newline included, is cut there and its tail runs as the next
        command, as in Asterisk.
    :ivar variables: channel variables before the call (default none);
        ``AGISIGHUP=no`` and ``AGIEXITONHANGUP=yes`` work as in Asterisk.
    :ivar database: the :obj:`AstDB` (default empty; pass one instance to
        several channels to share it).

    """

    request: str = "agi://127.0.0.1:4573/"
    arguments: Sequence[str] = ()
    name: str = "PJSIP/caller-00000001"
    uniqueId: str = "1700000000.1"
    threadId: int = 139680037258944
    version: str = "22.10.1"
    language: str = "en"
    channelType: str | None = None
    callerId: str | None = None
    callerIdName: str | None = None
    callingPres: int | None = None
    callingAni2: int = 0
    callingTon: int = 0
    callingTns: int = 0
    dnid: str | None = None
    rdnis: str | None = None
    context: str = "default"
    extension: str = "s"
    priority: int = 1
    accountCode: str = ""
    answered: bool = True
    dtmf: Sequence[tuple[float, str]] = ()
    hangupAt: float | None = None
    sounds: dict[str, float] = attrs.Factory(lambda: dict(DEFAULT_SOUNDS))
    sayItemDuration: float = 0.8
    applications: dict[str, Application] = attrs.Factory(_defaultApplications)
    subroutines: dict[tuple[str, str, int], Subroutine] = attrs.Factory(dict)
    gosubDuration: float = 0.0
    otherChannels: dict[str, int] = attrs.Factory(dict)
    speechEngines: frozenset[str] = frozenset()
    digitTimeout: float = 5.0
    agiBuffer: int | None = None
    variables: dict[str, str] = attrs.Factory(dict)
    database: AstDB = attrs.Factory(AstDB)
    state: int = 0
    hungUp: bool = False
    verboseMessages: list[tuple[int, str]] = attrs.Factory(list)
    recordings: list[Recording] = attrs.Factory(list)
    sentTexts: list[str] = attrs.Factory(list)
    musicClass: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.state == 0:
            self.state = _STATE_UP if self.answered else _STATE_RING
        if self.channelType is None:
            self.channelType = self.name.split("/", 1)[0]

    # -- identity

    @property
    def script(self) -> str:
        """The script path sent as ``agi_network_script``: the request
        URL's path without its leading slash (may be empty)."""
        lowered = self.request.lower()
        for scheme in ("agi://", "hagi://"):
            if lowered.startswith(scheme):
                rest = self.request[len(scheme):]
                return rest.partition("/")[2]
        return ""

    def environment(self) -> list[tuple[str, str]]:
        """The environment block's keys and values, in Asterisk's order."""
        if self.callingPres is not None:
            pres = self.callingPres
        elif self.callerId is None and self.callerIdName is None:
            pres = 67
        else:
            pres = 0
        pairs = [("agi_network", "yes")]
        if self.script:
            pairs.append(("agi_network_script", self.script))
        pairs += [
            ("agi_request", self.request),
            ("agi_channel", self.name),
            ("agi_language", self.language),
            ("agi_type", self.channelType or ""),
            ("agi_uniqueid", self.uniqueId),
            ("agi_version", self.version),
            ("agi_callerid", "unknown" if self.callerId is None else self.callerId),
            (
                "agi_calleridname",
                "unknown" if self.callerIdName is None else self.callerIdName,
            ),
            ("agi_callingpres", str(pres)),
            ("agi_callingani2", str(self.callingAni2)),
            ("agi_callington", str(self.callingTon)),
            ("agi_callingtns", str(self.callingTns)),
            ("agi_dnid", self.dnid or "unknown"),
            ("agi_rdnis", self.rdnis or "unknown"),
            ("agi_context", self.context),
            ("agi_extension", self.extension),
            ("agi_priority", str(self.priority)),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", self.accountCode),
            ("agi_threadid", str(self.threadId)),
        ]
        pairs += [(f"agi_arg_{n}", arg) for n, arg in enumerate(self.arguments, 1)]
        return pairs

    def environmentBlock(self) -> bytes:
        """The environment block as Asterisk sends it, blank line included."""
        lines = [f"{key}: {value}\n" for key, value in self.environment()]
        return ("".join(lines) + "\n").encode("utf-8", "surrogateescape")

    # -- sounds

    def soundSamples(self, name: str) -> int | None:
        """Length of a sound file in 8 kHz samples, or None if unknown."""
        seconds = self.sounds.get(name)
        return None if seconds is None else round(seconds * _SAMPLE_RATE)

    def _itemSamples(self, item: str) -> int:
        known = self.soundSamples(item)
        return round(self.sayItemDuration * _SAMPLE_RATE) if known is None else known

    # -- variables

    def setVariable(self, name: str, value: str) -> None:
        """Set a channel variable (leading ``_``/``__`` inheritance marks are
        dropped from the name, as Asterisk compares names without them)."""
        self.variables[name.lstrip("_") or name] = value

    def getVariable(self, name: str) -> str | None:
        """A variable as ``GET VARIABLE`` sees it: a function if ``name`` ends
        in ``)``, else a built-in (CHANNEL, UNIQUEID, EXTEN, CONTEXT,
        PRIORITY, CALLERID...), else a channel variable; None if unset."""
        if name.endswith(")") and "(" in name:
            return self._function(name)
        builtin = {
            "CHANNEL": self.name,
            "UNIQUEID": self.uniqueId,
            "EXTEN": self.extension,
            "CONTEXT": self.context,
            "PRIORITY": str(self.priority),
            "LANGUAGE": self.language,
            "ACCOUNTCODE": self.accountCode,
        }
        if name in builtin:
            return builtin[name]
        return self.variables.get(name)

    def _function(self, expression: str) -> str | None:
        fname, _, rest = expression.partition("(")
        argument = rest[:-1]
        fname = fname.strip().upper()
        if fname == "CALLERID":
            number = self.callerId or ""
            nameValue = self.callerIdName or ""
            which = argument.strip().lower()
            if which in ("num", "number"):
                return number
            if which == "name":
                return nameValue
            if which == "all":
                return f'"{nameValue}" <{number}>'
            return None
        if fname == "CHANNEL":
            values = {
                "name": self.name,
                "language": self.language,
                "uniqueid": self.uniqueId,
                "context": self.context,
                "exten": self.extension,
                "channeltype": self.channelType or "",
                "state": "Up" if self.state == _STATE_UP else "Ring",
                "accountcode": self.accountCode,
                "musicclass": self.musicClass or "",
            }
            return values.get(argument.strip().lower())
        if fname in ("DB", "DB_EXISTS"):
            family, _, key = argument.partition("/")
            value = self.database.get(family, key)
            if fname == "DB_EXISTS":
                return "1" if value is not None else "0"
            return value
        if fname == "LEN":
            return str(len(argument))
        return None

    def substitute(self, text: str) -> str:
        """Expand ``${VAR}``, ``${FUNC(args)}`` and ``${VAR:offset:length}``
        as ``GET FULL VARIABLE`` does (nesting allowed; unset is empty)."""
        out: list[str] = []
        index = 0
        while index < len(text):
            if text.startswith("${", index):
                depth = 1
                end = index + 2
                while end < len(text) and depth:
                    if text.startswith("${", end):
                        depth += 1
                        end += 2
                        continue
                    if text[end] == "}":
                        depth -= 1
                    end += 1
                if depth:
                    out.append(text[index:])
                    break
                inner = self.substitute(text[index + 2 : end - 1])
                out.append(self._expand(inner))
                index = end
            else:
                out.append(text[index])
                index += 1
        return "".join(out)

    def _expand(self, inner: str) -> str:
        if inner.endswith(")") and "(" in inner:
            return self._function(inner) or ""
        name, *slicing = inner.split(":")
        value = self.getVariable(name) or ""
        if slicing:
            offset = _atoi(slicing[0])
            if offset < 0:
                offset = max(0, len(value) + offset)
            value = value[offset:]
            if len(slicing) > 1 and slicing[1] != "":
                length = _atoi(slicing[1])
                value = value[:length] if length >= 0 else value[: max(0, len(value) + length)]
        return value

    def channelState(self, name: str) -> int | None:
        """State of this channel (by name) or of one of ``otherChannels``."""
        if name == self.name:
            return self.state
        return self.otherChannels.get(name)

    def hangup(self) -> None:
        """Mark the channel hung up (the fake caller notices at once)."""
        self.hungUp = True
        if self._onHangup is not None:
            self._onHangup()

    _onHangup: Callable[[], None] | None = attrs.field(default=None, init=False, repr=False)


# ---------------------------------------------------------------------------
# Transcript


@attrs.frozen
class TranscriptEntry:
    """One line of a call.

    :ivar time: seconds since the call connected.
    :ivar direction: ``<<`` for bytes Asterisk sent (the environment block and
        replies), ``>>`` for a command line it received, ``##`` for a note
        (a digit, the hangup, the end of the call).  These are the captures'
        conventions, seen from the AGI server.
    :ivar data: the line's bytes, newline included for ``<<``, excluded for
        ``>>``; for a note, its UTF-8 text.
    """

    time: float
    direction: str
    data: bytes

    def format(self) -> str:
        """The entry as a row of a capture file (``tests/fixtures/*.txt``)."""
        if self.direction == "##":
            return f"{self.time:7.3f} ## {self.data.decode('utf-8', 'replace')}"
        shown = self.data + b"\n" if self.direction == ">>" else self.data
        return f"{self.time:7.3f} {self.direction} {shown!r}"


@attrs.define
class Transcript:
    """What happened on a fake call, with times.

    :ivar agiStatus: what ``AGISTATUS`` would be: ``SUCCESS``, ``FAILURE``
        (a command failed, for example a missing sound file) or ``HANGUP``.
    :ivar finished: True once the server closed the connection.
    """

    entries: list[TranscriptEntry] = attrs.Factory(list)
    agiStatus: str = "SUCCESS"
    finished: bool = False

    def sent(self) -> bytes:
        """Every byte the fake Asterisk sent, as the server received them."""
        return b"".join(e.data for e in self.entries if e.direction == "<<")

    def commands(self) -> list[bytes]:
        """The command lines received, without newlines."""
        return [e.data for e in self.entries if e.direction == ">>"]

    def notes(self) -> list[str]:
        """The notes (digits, hangups, end of call) as text."""
        return [e.data.decode("utf-8") for e in self.entries if e.direction == "##"]

    def exchanges(self) -> list[tuple[bytes, bytes]]:
        """Each command with all bytes sent after it until the next one."""
        result: list[tuple[bytes, bytes]] = []
        for entry in self.entries:
            if entry.direction == ">>":
                result.append((entry.data, b""))
            elif entry.direction == "<<" and result:
                command, reply = result[-1]
                result[-1] = (command, reply + entry.data)
        return result

    def format(self) -> str:
        """The call, one row per line, in the captures' format."""
        return "\n".join(entry.format() for entry in self.entries)

    def __str__(self) -> str:
        return self.format()


# ---------------------------------------------------------------------------
# What a running command waits for


@attrs.frozen
class _Play:
    """Play a sound from ``offset`` to ``total`` samples, stopping on one of
    ``stopDigits``."""

    total: int
    offset: int
    stopDigits: str
    watchControl: bool = True


@attrs.frozen
class _WaitDigit:
    """Wait up to ``timeoutMs`` (negative: for ever) for one of ``digits``."""

    timeoutMs: int
    digits: str = _ANY_DIGIT
    watchControl: bool = True


@attrs.frozen
class _Sleep:
    """Let ``seconds`` pass (nothing interrupts)."""

    seconds: float


_Wait = Union[_Play, _WaitDigit, _Sleep]


@attrs.frozen
class _Outcome:
    """How a wait ended: ``kind`` is ``done``, ``digit``, ``timeout``,
    ``hangup`` or ``control`` (the server sent data meanwhile)."""

    kind: str
    digit: str = ""
    position: int = 0
    elapsed: float = 0.0


_CommandRun = Generator[_Wait, _Outcome, int]
_Handler = Callable[["FakeAGICaller", list[str]], Union[int, _CommandRun]]


@attrs.frozen
class _Command:
    words: tuple[str, ...]
    handler: _Handler
    deadSafe: bool

    @property
    def name(self) -> str:
        return " ".join(self.words)


# ---------------------------------------------------------------------------
# The protocol


class FakeAGICaller(Protocol):
    """Asterisk's side of one FastAGI call.

    Connect it to a FastAGI server with any transport; on connection it sends
    the environment block, then answers each command line.  It never closes
    the connection itself (neither does Asterisk), except after a line
    starting with ``failure`` or, with ``AGIEXITONHANGUP=yes``, after hangup.

    :ivar channel: the :obj:`SimulatedChannel`; its state changes as the call
        goes.
    :ivar transcript: the :obj:`Transcript`, growing as the call goes.
    """

    def __init__(
        self, channel: SimulatedChannel | None = None, clock: IReactorTime | None = None
    ) -> None:
        """
        :param channel: the simulated channel; a default one if None.
        :param clock: where time comes from; the global reactor if None.
        """
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        self.channel = channel if channel is not None else SimulatedChannel()
        self.clock: IReactorTime = clock
        self.transcript = Transcript()
        self._start = 0.0
        self._buffer = b""
        self._maxLine = self._lineLimit()
        self._lines: collections.deque[bytes] = collections.deque()
        self._running: _CommandRun | None = None
        self._command: _Command | None = None
        self._wait: _Wait | None = None
        self._waitStart = 0.0
        self._waitTimer: IDelayedCall | None = None
        self._scheduled: list[IDelayedCall] = []
        self._autoHangup: IDelayedCall | None = None
        self._dead = False
        self._inLoop = False
        self._sigHup = True
        self._exitOnHangup = False
        self._speech: dict[str, object] | None = None
        self._finishedWaiters: list[Deferred[Transcript]] = []

    # -- public API

    @property
    def finished(self) -> bool:
        """True once the connection is closed."""
        return self.transcript.finished

    @property
    def busy(self) -> bool:
        """True while a command runs (plays, waits...).  A line that the
        server sends meanwhile may interrupt it, as in Asterisk."""
        return self._running is not None

    def whenFinished(self) -> Deferred[Transcript]:
        """A Deferred that fires with the :obj:`Transcript` when the connection
        closes (normally: the server closed it).  It never fails."""
        if self.finished:
            return succeed(self.transcript)
        d: Deferred[Transcript] = Deferred()
        self._finishedWaiters.append(d)
        return d

    def now(self) -> float:
        """Seconds since the call connected."""
        return self.clock.seconds() - self._start

    def _lineLimit(self) -> int:
        channel = self.channel
        size = channel.agiBuffer
        if size is None:
            size = agiBufferForVersion(channel.version)
        return size - 1

    # -- Protocol

    def connectionMade(self) -> None:
        self._start = self.clock.seconds()
        self._maxLine = self._lineLimit()
        channel = self.channel
        self._sigHup = not _isFalse(channel.variables.get("AGISIGHUP"))
        self._exitOnHangup = _isTrue(channel.variables.get("AGIEXITONHANGUP"))
        channel._onHangup = self._channelHungUp
        for when, digit in channel.dtmf:
            self._scheduled.append(
                self.clock.callLater(max(0.0, when), self._digitArrived, digit)
            )
        if channel.hangupAt is not None:
            self._scheduled.append(
                self.clock.callLater(max(0.0, channel.hangupAt), self._callerHangsUp)
            )
        for key, value in channel.environment():
            self._write(f"{key}: {value}\n".encode("utf-8", "surrogateescape"))
        self._write(b"\n")
        if channel.hungUp:
            self._runLoop()

    def dataReceived(self, data: bytes) -> None:
        if self.finished:
            return
        self._buffer += data
        maxLine = self._maxLine
        while True:
            # fgets(buf, AGI_BUF_LEN): a newline within the first
            # AGI_BUF_LEN - 1 bytes ends the command; else the full buffer
            # is one command and the rest starts the next one.
            newline = self._buffer.find(b"\n", 0, maxLine)
            if newline >= 0:
                line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            elif len(self._buffer) >= maxLine:
                line, self._buffer = self._buffer[:maxLine], self._buffer[maxLine:]
            else:
                break
            self._lines.append(line)
        # res_agi polls the socket while it plays or waits: new data there
        # ends STREAM FILE, SAY, GET DATA... at once, without a reply.
        wait = self._wait
        if wait is not None and not isinstance(wait, _Sleep) and wait.watchControl:
            self._resolve("control")
        self._runLoop()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.finished:
            return
        self._note("connection closed by the AGI server")
        self.transcript.finished = True
        for call in self._scheduled + [self._waitTimer, self._autoHangup]:
            if call is not None and call.active():
                call.cancel()
        self._scheduled = []
        self._waitTimer = self._autoHangup = None
        self.channel._onHangup = None
        if self._running is not None:
            self._running.close()
            self._running = None
            self._wait = None
        waiters, self._finishedWaiters = self._finishedWaiters, []
        for d in waiters:
            d.callback(self.transcript)

    # -- output and notes

    def _write(self, data: bytes) -> None:
        if self.finished or self.transport is None:
            return
        self.transcript.entries.append(TranscriptEntry(self.now(), "<<", data))
        self.transport.write(data)

    def _reply(self, text: str) -> None:
        self._write(text.encode("utf-8", "surrogateescape") + b"\n")

    def _note(self, text: str) -> None:
        self.transcript.entries.append(TranscriptEntry(self.now(), "##", text.encode("utf-8")))

    # -- the loop of res_agi's run_agi()

    def _runLoop(self) -> None:
        if self._inLoop:
            return
        self._inLoop = True
        try:
            while self._running is None and not self.finished:
                if self.channel.hungUp and not self._dead:
                    self._dead = True
                    if self.transcript.agiStatus == "SUCCESS":
                        self.transcript.agiStatus = "HANGUP"
                    if self._sigHup:
                        self._write(b"HANGUP\n")
                    if self._exitOnHangup:
                        self._endAGI("AGIEXITONHANGUP: the AGI ends on hangup")
                        return
                    continue
                if not self._lines:
                    return
                self._execute(self._lines.popleft())
        finally:
            self._inLoop = False

    def _endAGI(self, why: str) -> None:
        self._note(why)
        if self.transport is not None:
            self.transport.loseConnection()

    def _execute(self, raw: bytes) -> None:
        self.transcript.entries.append(TranscriptEntry(self.now(), ">>", raw))
        if raw[:7].lower() == b"failure":
            self.transcript.agiStatus = "FAILURE"
            self._endAGI("'failure' line: the AGI ends")
            return
        text = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        argv = parseAGIArguments(text)
        command = _findCommand(argv)
        if command is None:
            self._reply("510 Invalid or unknown command")
            return
        if self._dead and not command.deadSafe:
            self._reply(_DEAD_CHANNEL)
            return
        log.debug("fake Asterisk runs %r", argv)
        result = command.handler(self, argv)
        self._command = command
        if isinstance(result, int):
            self._finishCommand(result)
        else:
            self._running = result
            self._step(None)

    def _step(self, outcome: _Outcome | None) -> None:
        run = self._running
        assert run is not None
        try:
            wait = run.send(cast(_Outcome, outcome))
        except StopIteration as stop:
            self._running = None
            self._finishCommand(stop.value)
            self._runLoop()
            return
        self._startWait(wait)

    def _finishCommand(self, code: int) -> None:
        command = self._command
        assert command is not None
        if code == _SHOWUSAGE:
            self._reply("520-Invalid command syntax.  Proper usage follows:")
            for line in USAGE[command.name].split("\n"):
                self._reply(line)
            self._reply("520 End of proper usage.")
        elif code == _FAILURE and (self._dead or not self.channel.hungUp):
            self.transcript.agiStatus = "FAILURE"

    # -- waits

    def _startWait(self, wait: _Wait) -> None:
        self._wait = wait
        self._waitStart = self.clock.seconds()
        if isinstance(wait, _Sleep):
            seconds: float | None = wait.seconds
        elif self.channel.hungUp:
            self._resolve("hangup")
            return
        elif isinstance(wait, _Play):
            seconds = max(0, wait.total - wait.offset) / _SAMPLE_RATE
        else:
            seconds = None if wait.timeoutMs < 0 else wait.timeoutMs / 1000
        if seconds is None:
            return
        if seconds <= 0:
            self._resolve("done" if not isinstance(wait, _WaitDigit) else "timeout")
            return
        kind = "timeout" if isinstance(wait, _WaitDigit) else "done"
        self._waitTimer = self.clock.callLater(seconds, self._resolve, kind)

    def _resolve(self, kind: str, digit: str = "") -> None:
        wait = self._wait
        if wait is None:
            return
        self._wait = None
        if self._waitTimer is not None and self._waitTimer.active():
            self._waitTimer.cancel()
        self._waitTimer = None
        elapsed = self.clock.seconds() - self._waitStart
        position = 0
        if isinstance(wait, _Play):
            if kind == "done":
                position = wait.total
            else:
                frames = int(round(elapsed * 1000)) // _FRAME_MS + 1
                position = min(wait.total, wait.offset + frames * _SAMPLE_RATE * _FRAME_MS // 1000)
                position = max(position, wait.offset)
        self._step(_Outcome(kind, digit, position, elapsed))

    def _digitArrived(self, digit: str) -> None:
        wait = self._wait
        if wait is None or isinstance(wait, _Sleep):
            self._note(f"DTMF {digit!r} discarded (no command is listening)")
            return
        accepted = wait.stopDigits if isinstance(wait, _Play) else wait.digits
        if digit in accepted:
            self._note(f"DTMF {digit!r}")
            self._resolve("digit", digit)
        else:
            self._note(f"DTMF {digit!r} ignored (not an escape digit)")

    def _callerHangsUp(self) -> None:
        if not self.channel.hungUp:
            self._note("the caller hangs up")
            self.channel.hangup()

    def _channelHungUp(self) -> None:
        if self._wait is not None and not isinstance(self._wait, _Sleep):
            self._resolve("hangup")
        elif self._running is None:
            self._runLoop()


# ---------------------------------------------------------------------------
# The 47 commands (argument counts and replies as in res_agi.c)


def _findCommand(argv: list[str]) -> _Command | None:
    lowered = [a.encode("utf-8", "surrogateescape").lower() for a in argv]
    for command in AGI_COMMANDS:
        words = command.words
        if len(lowered) >= len(words) and all(
            lowered[i] == w.lower().encode() for i, w in enumerate(words)
        ):
            return command
    return None


def _answer(call: FakeAGICaller, argv: list[str]) -> int:
    call.channel.state = _STATE_UP
    call._reply("200 result=0")
    return _SUCCESS


def _asyncagiBreak(call: FakeAGICaller, argv: list[str]) -> int:
    call._reply("200 result=0")
    return _SUCCESS


def _channelStatus(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) == 2:
        call._reply(f"200 result={call.channel.state}")
    elif len(argv) == 3:
        state = call.channel.channelState(argv[2])
        call._reply(f"200 result={-1 if state is None else state}")
    else:
        return _SHOWUSAGE
    return _SUCCESS


def _controlStreamFile(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if not 5 <= len(argv) <= 10:
        return _SHOWUSAGE
    skipMs = 3000
    if len(argv) > 5:
        scanned = _scanInt(argv[5])
        if scanned is None:
            return _SHOWUSAGE
        skipMs = scanned
    offsetMs = 0
    if len(argv) > 9:
        scanned = _scanInt(argv[9])
        if scanned is None:
            return _SHOWUSAGE
        offsetMs = scanned
    return _controlStreamRun(call, argv, skipMs, offsetMs)


def _controlStreamRun(
    call: FakeAGICaller, argv: list[str], skipMs: int, offsetMs: int
) -> _CommandRun:
    channel = call.channel
    stop = argv[4]
    forward = argv[6] if len(argv) > 6 and argv[6] else "#"
    rewind = argv[7] if len(argv) > 7 and argv[7] else "*"
    pause = argv[8] if len(argv) > 8 and argv[8] else ""
    total = channel.soundSamples(argv[3])
    if total is None:
        channel.setVariable("CPLAYBACKSTATUS", "ERROR")
        call._reply(f"200 result=-1 endpos={offsetMs}")
        return _FAILURE
    position = min(total, max(0, offsetMs * 8))
    stopKey = ""
    while True:
        outcome = yield _Play(total, position, stop + forward + rewind + pause, False)
        position = outcome.position
        if outcome.kind == "done":
            result, endMs = 0, -1
            break
        if outcome.kind == "hangup":
            result, endMs = -1, position // 8
            break
        digit = outcome.digit
        if digit in forward:
            position = min(total, position + skipMs * 8)
            continue
        if digit in rewind:
            position = max(0, position - skipMs * 8)
            continue
        if pause and digit in pause:
            resumed = yield _WaitDigit(-1, pause + stop, False)
            if resumed.kind == "hangup":
                result, endMs = -1, position // 8
                break
            if resumed.digit in pause:
                continue
            digit = resumed.digit
        result, endMs, stopKey = ord(digit), position // 8, digit
        break
    if result > 0:
        channel.setVariable("CPLAYBACKSTATUS", "USERSTOPPED")
        channel.setVariable("CPLAYBACKSTOPKEY", stopKey)
    else:
        channel.setVariable("CPLAYBACKSTATUS", "ERROR" if result < 0 else "SUCCESS")
    channel.setVariable("CPLAYBACKOFFSET", str(endMs))
    call._reply(f"200 result={result} endpos={endMs}")
    return _SUCCESS if result >= 0 else _FAILURE


def _databaseDel(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 4:
        return _SHOWUSAGE
    deleted = call.channel.database.delete(argv[2], argv[3])
    call._reply(f"200 result={1 if deleted else 0}")
    return _SUCCESS


def _databaseDeltree(call: FakeAGICaller, argv: list[str]) -> int:
    if not 3 <= len(argv) <= 4:
        return _SHOWUSAGE
    count = call.channel.database.deleteTree(argv[2], argv[3] if len(argv) == 4 else None)
    call._reply(f"200 result={1 if count > 0 else 0}")
    return _SUCCESS


def _databaseGet(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 4:
        return _SHOWUSAGE
    value = call.channel.database.get(argv[2], argv[3])
    call._reply("200 result=0" if value is None else f"200 result=1 ({value})")
    return _SUCCESS


def _databasePut(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 5:
        return _SHOWUSAGE
    call.channel.database.put(argv[2], argv[3], argv[4])
    call._reply("200 result=1")
    return _SUCCESS


def _exec(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) < 2:
        return _SHOWUSAGE
    apps = {name.lower(): app for name, app in call.channel.applications.items()}
    app = apps.get(argv[1].lower())
    if app is None:
        result = -2
    else:
        result = app(call.channel, argv[2] if len(argv) > 2 else "")
    call._reply(f"200 result={result}")
    # res_agi returns the application's result as the handler's status.
    return result


def _getData(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) < 3:
        return _SHOWUSAGE
    return _getDataRun(call, argv)


def _getDataRun(call: FakeAGICaller, argv: list[str]) -> _CommandRun:
    timeout = _atoi(argv[3]) if len(argv) >= 4 else 0
    maxDigits = _atoi(argv[4]) if len(argv) >= 5 else 1024
    prompt = argv[2]
    total = None
    if prompt:
        total = call.channel.soundSamples(prompt)
        if total is None:
            call._reply("200 result=-1")
            return _SUCCESS
    if timeout > 0:
        firstTimeout = nextTimeout = timeout
    elif timeout < 0:
        firstTimeout = nextTimeout = 1000000000
    else:
        firstTimeout, nextTimeout = 6000, 2000
    if maxDigits == 0:
        call._reply("200 result=-1")
        return _SUCCESS
    collected = ""
    waitMs = firstTimeout
    while True:
        if total is not None:
            outcome = yield _Play(total, 0, _ANY_DIGIT, True)
            total = None
            if outcome.kind == "done":
                outcome = yield _WaitDigit(waitMs)
        else:
            outcome = yield _WaitDigit(waitMs)
        if outcome.kind == "hangup":
            call._reply("200 result=-1")
            return _SUCCESS
        if outcome.kind == "control":
            return _SUCCESS
        if outcome.kind == "timeout":
            call._reply(f"200 result={collected} (timeout)")
            return _SUCCESS
        digit = outcome.digit
        if digit == "#" and not collected:
            call._reply("200 result=")
            return _SUCCESS
        if digit != "#":
            collected += digit
        if digit == "#" or len(collected) >= maxDigits:
            call._reply(f"200 result={collected}")
            return _SUCCESS
        waitMs = nextTimeout


def _getFullVariable(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        return _SHOWUSAGE
    if len(argv) == 5 and call.channel.channelState(argv[4]) is None:
        call._reply("200 result=0")
        return _SUCCESS
    call._reply(f"200 result=1 ({call.channel.substitute(argv[3])})")
    return _SUCCESS


def _getOption(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if not 4 <= len(argv) <= 5:
        return _SHOWUSAGE
    return _getOptionRun(call, argv)


def _getOptionRun(call: FakeAGICaller, argv: list[str]) -> _CommandRun:
    escape = argv[3]
    if len(argv) == 5:
        timeoutMs = _atoi(argv[4])
    else:
        timeoutMs = int(call.channel.digitTimeout * 1000)
    total = call.channel.soundSamples(argv[2])
    if total is None:
        call._reply("200 result=-1 endpos=0")
        return _FAILURE
    outcome = yield _Play(total, 0, escape, True)
    if outcome.kind == "control":
        return _SUCCESS
    position = outcome.position
    result = _digitResult(outcome)
    if result == 0:
        waited = yield _WaitDigit(timeoutMs)
        result = 1 if waited.kind == "control" else _digitResult(waited)
        # Asterisk keeps the result only if it is one of the escape digits
        # (so a hangup here reads as 0).
        if result <= 0 or chr(result) not in escape:
            result = 0
    call._reply(f"200 result={result} endpos={position}")
    return _SUCCESS if result >= 0 else _FAILURE


def _digitResult(outcome: _Outcome) -> int:
    if outcome.kind == "digit":
        return ord(outcome.digit)
    if outcome.kind == "hangup":
        return -1
    return 0


def _getVariable(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return _SHOWUSAGE
    value = call.channel.getVariable(argv[2])
    call._reply("200 result=0" if value is None else f"200 result=1 ({value})")
    return _SUCCESS


def _gosub(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if not 4 <= len(argv) <= 5:
        return _SHOWUSAGE
    return _gosubRun(call, argv)


def _gosubRun(call: FakeAGICaller, argv: list[str]) -> _CommandRun:
    channel = call.channel
    priority = _scanInt(argv[3])
    subroutine = None
    if priority is not None and priority >= 1:
        subroutine = channel.subroutines.get((argv[1], argv[2], priority))
    if subroutine is None:
        call._reply("200 result=-1 Gosub label not found")
        return _FAILURE
    call._reply("100 result=0 Trying...")
    if channel.gosubDuration > 0:
        yield _Sleep(channel.gosubDuration)
    arguments = argv[4].split(",") if len(argv) == 5 else []
    returned = subroutine(channel, arguments)
    channel.setVariable("GOSUB_RETVAL", "" if returned is None else returned)
    call._reply("200 result=0 Gosub complete")
    return _SUCCESS


def _hangup(call: FakeAGICaller, argv: list[str]) -> int:
    channel = call.channel
    if len(argv) == 1 or (len(argv) == 2 and argv[1] == channel.name):
        call._reply("200 result=1")
        channel.hungUp = True
        return _SUCCESS
    if len(argv) == 2:
        if channel.otherChannels.pop(argv[1], None) is None:
            call._reply("200 result=-1")
        else:
            call._reply("200 result=1")
        return _SUCCESS
    return _SHOWUSAGE


def _noop(call: FakeAGICaller, argv: list[str]) -> int:
    call._reply("200 result=0")
    return _SUCCESS


def _receiveChar(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) != 3:
        return _SHOWUSAGE
    return _receiveRun(call, argv, char=True)


def _receiveText(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) != 3:
        return _SHOWUSAGE
    return _receiveRun(call, argv, char=False)


def _receiveRun(call: FakeAGICaller, argv: list[str], char: bool) -> _CommandRun:
    # The simulated caller never sends text: the command waits out its
    # timeout (or the hangup) and reports nothing received.
    yield _WaitDigit(_atoi(argv[2]), "", False)
    if char:
        call._reply("200 result=-1 (hangup)")
        return _FAILURE
    call._reply("200 result=-1")
    return _SUCCESS


def _recordFile(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) < 6:
        return _SHOWUSAGE
    timeoutMs = _scanInt(argv[5])
    if timeoutMs is None:
        return _SHOWUSAGE
    return _recordRun(call, argv, timeoutMs)


def _recordRun(call: FakeAGICaller, argv: list[str], timeoutMs: int) -> _CommandRun:
    channel = call.channel
    filename, fileFormat, escape = argv[2], argv[3], argv[4]
    offset = 0
    beep = False
    if len(argv) > 6:
        scanned = _scanInt(argv[6])
        if scanned is not None:
            offset = scanned
        elif "=" not in argv[6]:
            beep = True
    if len(argv) > 7 and "=" not in argv[7]:
        beep = True
    result = 0
    if beep:
        beepSamples = channel.soundSamples("beep")
        if beepSamples is None:
            result = -1
        else:
            played = yield _Play(beepSamples, 0, escape, False)
            result = _digitResult(played)
    if result:
        call._reply(f"200 result={result} (randomerror) endpos={offset}")
        return _SUCCESS
    outcome = yield _WaitDigit(timeoutMs if timeoutMs >= 0 else -1, escape, False)
    frames = int(round(outcome.elapsed * 1000)) // _FRAME_MS
    endpos = offset + frames * (_SAMPLE_RATE * _FRAME_MS // 1000)
    if outcome.kind == "hangup":
        channel.recordings.append(Recording(filename, fileFormat, endpos, "hangup"))
        call._reply(f"200 result=-1 (hangup) endpos={endpos}")
        return _FAILURE
    if outcome.kind == "digit":
        # Asterisk chops the last 200 ms, which hold the DTMF tone.
        endpos = max(offset, endpos - 200 * _SAMPLE_RATE // 1000)
        channel.recordings.append(
            Recording(filename, fileFormat, endpos, "dtmf", outcome.digit)
        )
        call._reply(f"200 result={ord(outcome.digit)} (dtmf) endpos={endpos}")
        return _SUCCESS
    channel.recordings.append(Recording(filename, fileFormat, endpos, "timeout"))
    call._reply(f"200 result=0 (timeout) endpos={endpos}")
    return _SUCCESS


def _say(call: FakeAGICaller, items: list[str], escape: str, watch: bool) -> _CommandRun:
    result = 0
    for item in items:
        outcome = yield _Play(call.channel._itemSamples(item), 0, escape, watch)
        if outcome.kind == "control":
            return _SUCCESS
        if outcome.kind != "done":
            result = _digitResult(outcome)
            break
    call._reply(f"200 result={result}")
    return _SUCCESS if result >= 0 else _FAILURE


def _numberItems(number: int) -> list[str]:
    """The sound files Asterisk's English ``say number`` plays, roughly."""
    if number < 0:
        return ["digits/minus"] + _numberItems(-number)
    if number < 20:
        return [f"digits/{number if number else 0}"]
    items: list[str] = []
    for size, word in ((1000000000, "billion"), (1000000, "million"), (1000, "thousand")):
        if number >= size:
            items += _numberItems(number // size) + [f"digits/{word}"]
            number %= size
    if number >= 100:
        items += [f"digits/{number // 100}", "digits/hundred"]
        number %= 100
    if number >= 20:
        items.append(f"digits/{number // 10 * 10}")
        number %= 10
    if number:
        items.append(f"digits/{number}")
    return items


def _dateItems(seconds: int) -> list[str]:
    moment = _time.gmtime(seconds)
    return [f"digits/day-{moment.tm_wday}", f"digits/mon-{moment.tm_mon - 1}"] + _numberItems(
        moment.tm_mday
    )


def _timeItems(seconds: int) -> list[str]:
    moment = _time.gmtime(seconds)
    hour = moment.tm_hour % 12 or 12
    items = _numberItems(hour)
    if moment.tm_min == 0:
        items.append("digits/oclock")
    else:
        if moment.tm_min < 10:
            items.append("digits/oh")
        items += _numberItems(moment.tm_min)
    items.append("digits/p-m" if moment.tm_hour >= 12 else "digits/a-m")
    return items


def _sayAlpha(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) != 4:
        return _SHOWUSAGE
    return _say(call, [f"letters/{c}" for c in argv[2]], argv[3], True)


def _sayDate(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) != 4:
        return _SHOWUSAGE
    seconds = _scanInt(argv[2])
    if seconds is None:
        return _SHOWUSAGE
    return _say(call, _dateItems(seconds), argv[3], False)


def _sayDatetime(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) < 4:
        return _SHOWUSAGE
    seconds = _scanInt(argv[2])
    if seconds is None:
        return _SHOWUSAGE
    year = _time.gmtime(seconds).tm_year
    items = _dateItems(seconds) + _numberItems(year) + ["digits/at"] + _timeItems(seconds)
    return _say(call, items, argv[3], False)


def _sayDigits(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) != 4:
        return _SHOWUSAGE
    if _scanInt(argv[2]) is None:
        return _SHOWUSAGE
    return _say(call, [f"digits/{c}" for c in argv[2]], argv[3], True)


def _sayNumber(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if not 4 <= len(argv) <= 5:
        return _SHOWUSAGE
    number = _scanInt(argv[2])
    if number is None:
        return _SHOWUSAGE
    return _say(call, _numberItems(number), argv[3], True)


def _sayPhonetic(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) != 4:
        return _SHOWUSAGE
    return _say(call, [f"phonetic/{c.lower()}_p" for c in argv[2]], argv[3], True)


def _sayTime(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) != 4:
        return _SHOWUSAGE
    seconds = _scanInt(argv[2])
    if seconds is None:
        return _SHOWUSAGE
    return _say(call, _timeItems(seconds), argv[3], False)


def _sendImage(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return _SHOWUSAGE
    call._reply("200 result=0")
    return _SUCCESS


def _sendText(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return _SHOWUSAGE
    call.channel.sentTexts.append(argv[2])
    call._reply("200 result=0")
    return _SUCCESS


def _setAutohangup(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return _SHOWUSAGE
    seconds = _scanFloat(argv[2])
    if seconds is None:
        return _SHOWUSAGE
    if call._autoHangup is not None and call._autoHangup.active():
        call._autoHangup.cancel()
    call._autoHangup = None
    if seconds > 0:
        call._autoHangup = call.clock.callLater(seconds, _autoHangupFires, call)
    call._reply("200 result=0")
    return _SUCCESS


def _autoHangupFires(call: FakeAGICaller) -> None:
    call._autoHangup = None
    if not call.channel.hungUp:
        call._note("SET AUTOHANGUP time reached: the channel hangs up")
        call.channel.hangup()


def _parseCallerId(text: str) -> tuple[str, str]:
    """(name, number) as Asterisk's callerid parser reads ``"Name" <num>``."""
    if "<" in text:
        name, _, rest = text.partition("<")
        number = rest.partition(">")[0]
        name = name.strip().strip('"').strip()
    else:
        stripped = text.strip().strip('"')
        if stripped and all(c in "0123456789+*#()-. " for c in stripped):
            name, number = "", stripped
        else:
            name, number = stripped, ""
    number = "".join(c for c in number if c not in "()-. ")
    return name, number


def _setCallerid(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) > 2:
        name, number = _parseCallerId(argv[2])
        call.channel.callerId = number
        call.channel.callerIdName = name
    call._reply("200 result=1")
    return _SUCCESS


def _setContext(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return _SHOWUSAGE
    call.channel.context = argv[2]
    call._reply("200 result=0")
    return _SUCCESS


def _setExtension(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return _SHOWUSAGE
    call.channel.extension = argv[2]
    call._reply("200 result=0")
    return _SUCCESS


def _setMusic(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) < 3:
        return _SHOWUSAGE
    if argv[2][:2].lower() == "on":
        call.channel.musicClass = argv[3] if len(argv) > 3 else "default"
    elif argv[2][:3].lower() == "off":
        call.channel.musicClass = None
    call._reply("200 result=0")
    return _SUCCESS


def _setPriority(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return _SHOWUSAGE
    priority = _scanInt(argv[2])
    if priority is None:
        return _SHOWUSAGE
    call.channel.priority = priority
    call._reply("200 result=0")
    return _SUCCESS


def _setVariable(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 4:
        return _SHOWUSAGE
    call.channel.setVariable(argv[2], argv[3])
    call._reply("200 result=1")
    return _SUCCESS


def _speechCreate(call: FakeAGICaller, argv: list[str]) -> int:
    engines = call.channel.speechEngines
    engine = argv[2] if len(argv) > 2 else None
    if call._speech is not None or not engines or (engine is not None and engine not in engines):
        call._reply("200 result=0")
        return _SUCCESS
    call._speech = {"engine": engine, "grammars": {}, "active": set(), "settings": {}}
    call._reply("200 result=1")
    return _SUCCESS


def _speechSet(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 4:
        return _SHOWUSAGE
    if call._speech is None:
        call._reply("200 result=0")
        return _SUCCESS
    settings = call._speech["settings"]
    assert isinstance(settings, dict)
    settings[argv[2]] = argv[3]
    call._reply("200 result=1")
    return _SUCCESS


def _speechDestroy(call: FakeAGICaller, argv: list[str]) -> int:
    existed = call._speech is not None
    call._speech = None
    call._reply(f"200 result={1 if existed else 0}")
    return _SUCCESS


def _speechGrammar(action: str, argc: int) -> _Handler:
    def handler(call: FakeAGICaller, argv: list[str]) -> int:
        if len(argv) != argc:
            return _SHOWUSAGE
        speech = call._speech
        if speech is None:
            call._reply("200 result=0")
            return _SUCCESS
        grammars = speech["grammars"]
        active = speech["active"]
        assert isinstance(grammars, dict) and isinstance(active, set)
        name = argv[3]
        ok = True
        if action == "load":
            grammars[name] = argv[4]
        elif name not in grammars:
            ok = False
        elif action == "unload":
            del grammars[name]
            active.discard(name)
        elif action == "activate":
            active.add(name)
        else:
            active.discard(name)
        call._reply(f"200 result={1 if ok else 0}")
        return _SUCCESS

    return handler


def _speechRecognize(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) < 4:
        return _SHOWUSAGE
    if call._speech is None:
        call._reply("200 result=0")
        return _SUCCESS
    return _speechRecognizeRun(call, argv)


def _speechRecognizeRun(call: FakeAGICaller, argv: list[str]) -> _CommandRun:
    # The simulated caller never speaks: recognition ends on a digit, on
    # the timeout (counted after the prompt) or on hangup.
    timeoutMs = _atoi(argv[3])
    total = call.channel.soundSamples(argv[2])
    outcome = _Outcome("done")
    if total is not None:
        offset = _atoi(argv[4]) if len(argv) == 5 else 0
        outcome = yield _Play(total, min(total, max(0, offset)), _ANY_DIGIT, False)
    if outcome.kind == "done":
        outcome = yield _WaitDigit(timeoutMs if timeoutMs > 0 else -1, _ANY_DIGIT, False)
    if outcome.kind == "digit":
        call._reply(f"200 result=1 (digit) digit={outcome.digit} endpos=0")
    else:
        call._reply(f"200 result=1 ({outcome.kind}) endpos=0")
    return _SUCCESS


def _streamFile(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if not 4 <= len(argv) <= 5:
        return _SHOWUSAGE
    offset = 0
    if len(argv) > 4:
        scanned = _scanInt(argv[4])
        if scanned is None:
            return _SHOWUSAGE
        offset = scanned
    return _streamFileRun(call, argv, offset)


def _streamFileRun(call: FakeAGICaller, argv: list[str], offset: int) -> _CommandRun:
    channel = call.channel
    total = channel.soundSamples(argv[2])
    if total is None:
        channel.setVariable("PLAYBACKSTATUS", "FAILED")
        call._reply(f"200 result=-1 endpos={offset}")
        return _FAILURE
    outcome = yield _Play(total, max(0, offset), argv[3], True)
    if outcome.kind == "control":
        return _SUCCESS
    result = _digitResult(outcome)
    channel.setVariable("PLAYBACKSTATUS", "SUCCESS" if result == 0 else "FAILED")
    call._reply(f"200 result={result} endpos={outcome.position}")
    return _SUCCESS if result >= 0 else _FAILURE


def _tddMode(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return _SHOWUSAGE
    # A simulated channel has no TDD: setting the option fails.
    call._reply("200 result=0")
    return _SUCCESS


def _verbose(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) < 2:
        return _SHOWUSAGE
    level = (_scanInt(argv[2]) or 0) if len(argv) > 2 else 0
    call.channel.verboseMessages.append((level, argv[1]))
    call._reply("200 result=1")
    return _SUCCESS


def _waitForDigit(call: FakeAGICaller, argv: list[str]) -> int | _CommandRun:
    if len(argv) != 4:
        return _SHOWUSAGE
    timeoutMs = _scanInt(argv[3])
    if timeoutMs is None:
        return _SHOWUSAGE
    return _waitForDigitRun(call, timeoutMs)


def _waitForDigitRun(call: FakeAGICaller, timeoutMs: int) -> _CommandRun:
    outcome = yield _WaitDigit(timeoutMs)
    # New data from the server makes Asterisk's wait return 1.
    result = 1 if outcome.kind == "control" else _digitResult(outcome)
    call._reply(f"200 result={result}")
    return _SUCCESS if result >= 0 else _FAILURE


def _c(words: str, handler: _Handler, deadSafe: bool = False) -> _Command:
    return _Command(tuple(words.split()), handler, deadSafe)


#: The 47 commands, in res_agi's order, with whether they run on a dead
#: (hung up) channel.
AGI_COMMANDS: tuple[_Command, ...] = (
    _c("ANSWER", _answer),
    _c("ASYNCAGI BREAK", _asyncagiBreak, True),
    _c("CHANNEL STATUS", _channelStatus),
    _c("DATABASE DEL", _databaseDel, True),
    _c("DATABASE DELTREE", _databaseDeltree, True),
    _c("DATABASE GET", _databaseGet, True),
    _c("DATABASE PUT", _databasePut, True),
    _c("EXEC", _exec, True),
    _c("GET DATA", _getData),
    _c("GET FULL VARIABLE", _getFullVariable, True),
    _c("GET OPTION", _getOption),
    _c("GET VARIABLE", _getVariable, True),
    _c("GOSUB", _gosub),
    _c("HANGUP", _hangup),
    _c("NOOP", _noop, True),
    _c("RECEIVE CHAR", _receiveChar),
    _c("RECEIVE TEXT", _receiveText),
    _c("RECORD FILE", _recordFile),
    _c("SAY ALPHA", _sayAlpha),
    _c("SAY DIGITS", _sayDigits),
    _c("SAY NUMBER", _sayNumber),
    _c("SAY PHONETIC", _sayPhonetic),
    _c("SAY DATE", _sayDate),
    _c("SAY TIME", _sayTime),
    _c("SAY DATETIME", _sayDatetime),
    _c("SEND IMAGE", _sendImage),
    _c("SEND TEXT", _sendText),
    _c("SET AUTOHANGUP", _setAutohangup),
    _c("SET CALLERID", _setCallerid),
    _c("SET CONTEXT", _setContext),
    _c("SET EXTENSION", _setExtension),
    _c("SET MUSIC", _setMusic),
    _c("SET PRIORITY", _setPriority),
    _c("SET VARIABLE", _setVariable, True),
    _c("STREAM FILE", _streamFile),
    _c("CONTROL STREAM FILE", _controlStreamFile),
    _c("TDD MODE", _tddMode),
    _c("VERBOSE", _verbose, True),
    _c("WAIT FOR DIGIT", _waitForDigit),
    _c("SPEECH CREATE", _speechCreate),
    _c("SPEECH SET", _speechSet),
    _c("SPEECH DESTROY", _speechDestroy, True),
    _c("SPEECH LOAD GRAMMAR", _speechGrammar("load", 5)),
    _c("SPEECH UNLOAD GRAMMAR", _speechGrammar("unload", 4), True),
    _c("SPEECH ACTIVATE GRAMMAR", _speechGrammar("activate", 4)),
    _c("SPEECH DEACTIVATE GRAMMAR", _speechGrammar("deactivate", 4)),
    _c("SPEECH RECOGNIZE", _speechRecognize),
)

#: Commands that still run after hangup; the others get ``511``.
DEAD_SAFE_COMMANDS: frozenset[str] = frozenset(c.name for c in AGI_COMMANDS if c.deadSafe)


# ---------------------------------------------------------------------------
# Placing calls


class FakeAGICallerFactory(ClientFactory):
    """A client factory for one fake call, for ``reactor.connectTCP`` and
    friends (:obj:`placeCall` is simpler with an endpoint).

    :ivar caller: the :obj:`FakeAGICaller`, once connected.
    """

    def __init__(
        self, channel: SimulatedChannel | None = None, clock: IReactorTime | None = None
    ) -> None:
        self.channel = channel if channel is not None else SimulatedChannel()
        self.clock = clock
        self.caller: FakeAGICaller | None = None
        self._waiters: list[Deferred[Transcript]] = []

    def buildProtocol(self, addr: object) -> FakeAGICaller:
        caller = FakeAGICaller(self.channel, self.clock)
        caller.factory = self
        self.caller = caller
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            caller.whenFinished().chainDeferred(d)
        return caller

    def clientConnectionFailed(self, connector: object, reason: Failure) -> None:
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.errback(reason)

    def whenFinished(self) -> Deferred[Transcript]:
        """A Deferred that fires with the :obj:`Transcript` when the server closes
        the connection, or fails with the reason the connection failed."""
        if self.caller is not None:
            return self.caller.whenFinished()
        d: Deferred[Transcript] = Deferred()
        self._waiters.append(d)
        return d


def placeCall(
    endpoint: IStreamClientEndpoint,
    channel: SimulatedChannel | None = None,
    clock: IReactorTime | None = None,
) -> Deferred[Transcript]:
    """Place a fake call to the FastAGI server at ``endpoint``.

    :param clock: time for the simulated channel; the global reactor if None.
    :return: a Deferred that fires with the :obj:`Transcript` when the server
        closes the connection, or fails with the connection error (for
        example ``twisted.internet.error.ConnectionRefusedError``).
    """
    caller = FakeAGICaller(channel, clock)
    connected: Deferred[FakeAGICaller] = connectProtocol(endpoint, caller)
    return connected.addCallback(lambda protocol: protocol.whenFinished())


def placeCallTCP(
    reactor: IReactorTCP,
    host: str = "127.0.0.1",
    port: int = 4573,
    channel: SimulatedChannel | None = None,
) -> Deferred[Transcript]:
    """Place a fake call over TCP, as ``AGI(agi://host:port/...)`` does.

    ``reactor`` must also provide IReactorTime; it is the channel's clock.
    See :obj:`placeCall` for the result.
    """
    clock = reactor if IReactorTime.providedBy(reactor) else None
    return placeCall(TCP4ClientEndpoint(reactor, host, port), channel, clock)


class InMemoryCall:
    """A fake call connected to a server protocol in memory, on a
    ``twisted.internet.task.Clock``.  Nothing moves until you :obj:`flush`, :obj:`advance` or
    :obj:`runUntilFinished`.

    :ivar caller: the :obj:`FakeAGICaller`.
    :ivar server: the server's protocol.
    :ivar clock: the clock both sides should use.
    """

    def __init__(self, caller: FakeAGICaller, server: IProtocol, clock: Clock) -> None:
        from twisted.test import iosim

        self.caller = caller
        self.server = server
        self.clock = clock
        peer = IPv4Address("TCP", "127.0.0.1", 40000)
        host = IPv4Address("TCP", "127.0.0.1", 4573)
        serverTransport = iosim.FakeTransport(server, True, host, peer)  # type: ignore[no-untyped-call]
        callerTransport = iosim.FakeTransport(caller, False, peer, host)  # type: ignore[no-untyped-call]
        self._pump = iosim.connect(  # type: ignore[no-untyped-call]
            server, serverTransport, caller, callerTransport, greet=True, clock=clock
        )

    @property
    def transcript(self) -> Transcript:
        """The call's :obj:`Transcript` so far."""
        return self.caller.transcript

    @property
    def finished(self) -> bool:
        """True once the server closed the connection."""
        return self.caller.finished

    def whenFinished(self) -> Deferred[Transcript]:
        """See :obj:`FakeAGICaller.whenFinished`."""
        return self.caller.whenFinished()

    def flush(self) -> None:
        """Deliver all bytes written so far, both ways, until quiet."""
        self._pump.flush()

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass, delivering bytes after
        every timed event on the way."""
        target = self.clock.seconds() + seconds
        self.flush()
        while True:
            due = [c.getTime() for c in self.clock.getDelayedCalls() if c.getTime() <= target]
            if not due:
                break
            self.clock.advance(max(0.0, min(due) - self.clock.seconds()))
            self.flush()
        self.clock.advance(max(0.0, target - self.clock.seconds()))
        self.flush()

    def runUntilFinished(self, limit: float = 3600.0) -> Transcript:
        """Run simulated time until the server closes the connection.

        :param limit: most simulated seconds to run.
        :return: the :obj:`Transcript`.
        :raises RuntimeError: if the call is still open after ``limit``
            seconds, or nothing is left to happen (the server waits for
            something that never comes, such as a real reactor's timer).
        """
        deadline = self.clock.seconds() + limit
        self.flush()
        while not self.finished:
            calls = self.clock.getDelayedCalls()
            if not calls:
                raise RuntimeError(
                    "the fake call is stuck: the server neither sends a command"
                    " nor closes the connection, and nothing is scheduled"
                )
            nextTime = min(c.getTime() for c in calls)
            if nextTime > deadline:
                raise RuntimeError(f"the fake call is still open after {limit} s")
            self.clock.advance(max(0.0, nextTime - self.clock.seconds()))
            self.flush()
        return self.transcript


def placeCallInMemory(
    serverFactory: IProtocolFactory,
    channel: SimulatedChannel | None = None,
    clock: Clock | None = None,
) -> InMemoryCall:
    """Connect a fake call to a protocol of ``serverFactory`` in memory.

    The environment block is delivered at once.  Give the server the same
    ``clock`` if it has timers of its own.

    :return: an :obj:`InMemoryCall`; use its ``runUntilFinished()`` to play the
        call out.
    """
    clock = clock if clock is not None else Clock()
    peer = IPv4Address("TCP", "127.0.0.1", 40000)
    server = serverFactory.buildProtocol(peer)
    if server is None:
        raise ValueError("the server factory refused the connection")
    caller = FakeAGICaller(channel, clock)
    return InMemoryCall(caller, server, clock)
