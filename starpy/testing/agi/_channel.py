"""The simulated channel a fake AGI call runs on: its identity (the
environment block), its sounds, variables, AstDB and dialplan scripts, and
the caller's schedule.

Private to :mod:`starpy.testing.agi`, which re-exports the public names.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence, Union

import attrs

from starpy.testing._cscan import atoi

SAMPLE_RATE = 8000
FRAME_MS = 20
ANY_DIGIT = "0123456789*#ABCD"

STATE_RING = 4
STATE_UP = 6

#: Sound files whose length is known from captures of a real Asterisk 22
#: (``hello-world`` ends at sample 11234, ``beep`` at 3404), in seconds.
DEFAULT_SOUNDS: Mapping[str, float] = {
    "hello-world": 11234 / SAMPLE_RATE,
    "beep": 3404 / SAMPLE_RATE,
}

def spacedDigits(
    digits: str, start: float = 2.0, interval: float = 1.0
) -> list[tuple[float, str]]:
    """A DTMF schedule for :class:`SimulatedChannel`'s ``dtmf``: ``digits`` one by
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
    channel.state = STATE_UP
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
    :ivar dtmf: ``(time, digit)`` pairs (default none; :func:`spacedDigits`
        builds them).  A digit interrupts a running
        ``STREAM FILE``/``SAY``/``GET OPTION``/``CONTROL STREAM FILE``/
        ``RECORD FILE`` if it is one of the command's escape digits; ``WAIT FOR
        DIGIT``/``GET DATA`` take any digit; a digit that arrives while no
        command runs is discarded, as res_agi does.
    :ivar hangupAt: when the caller hangs up, or None (the default) to stay
        on the line.
    :ivar sounds: sound file name -> length in seconds (default
        :data:`DEFAULT_SOUNDS`: ``hello-world`` and ``beep``).  Playing any other
        file fails as in Asterisk (``200 result=-1 endpos=0``).
    :ivar sayItemDuration: seconds per spoken item of the ``SAY`` commands
        (a digit, a letter, "forty"...; default 0.8), unless the item's file
        (for example ``digits/4``) is in ``sounds``.
    :ivar applications: ``EXEC`` applications by name (case-insensitive):
        an :class:`Application` is called with the channel and the options string
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
        default) for the one of ``version`` (:func:`agiBufferForVersion`: 8192 for
        22.10.1).  A command line longer than ``agiBuffer - 1`` bytes, its
        newline included, is cut there and its tail runs as the next
        command, as in Asterisk.
    :ivar variables: channel variables before the call (default none);
        ``AGISIGHUP=no`` and ``AGIEXITONHANGUP=yes`` work as in Asterisk.
    :ivar database: the :class:`AstDB` (default empty; pass one instance to
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
            self.state = STATE_UP if self.answered else STATE_RING
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
        return None if seconds is None else round(seconds * SAMPLE_RATE)

    def itemSamples(self, item: str) -> int:
        """Length of one spoken item of the ``SAY`` commands (``digits/4``)
        in samples: its sound file's, else ``sayItemDuration``."""
        known = self.soundSamples(item)
        return round(self.sayItemDuration * SAMPLE_RATE) if known is None else known

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
                "state": "Up" if self.state == STATE_UP else "Ring",
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
            offset = atoi(slicing[0])
            if offset < 0:
                offset = max(0, len(value) + offset)
            value = value[offset:]
            if len(slicing) > 1 and slicing[1] != "":
                length = atoi(slicing[1])
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
        if self.onHangup is not None:
            self.onHangup()

    #: Called by :meth:`hangup` (set by the fake caller running the call).
    onHangup: Callable[[], None] | None = attrs.field(default=None, init=False, repr=False)


