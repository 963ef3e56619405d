"""What the AGI codec reads and writes: the wire's encoding, its bounds, and the
events a decoder yields.  Private: ``starpy.codec.agi`` re-exports the names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple, Union

from starpy.error import AGIReplyError

#: Text encoding of the wire.  ``surrogateescape`` keeps bytes that are not
#: UTF-8 intact in both directions.
ENCODING = "utf-8"
ENCODING_ERRORS = "surrogateescape"

DEFAULT_MAX_LINE_LENGTH = 16384
DEFAULT_MAX_ENVIRONMENT_LINES = 512
DEFAULT_MAX_USAGE_LINES = 1024

#: What a command argument may be: text, or a number written in decimal.
Argument = Union[str, int, float]


# -- Events -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AGIEnvironment:
    """The environment block Asterisk sends first.

    :ivar variables: ``agi_*`` keys (lower-cased) to their values, in the
        order Asterisk sent them.
    """

    variables: Dict[str, str]


@dataclass(slots=True)
class AGIReply:
    """A complete, final reply to one command (treat it as read-only).

    :ivar code: the status: 200, 510, 511, 520 (or whatever Asterisk sent).
    :ivar result: the text after ``result=`` (``"0"``, ``"-1"``, ``"49"``,
        the digits of GET DATA, possibly ``""``), or ``None`` if absent.
    :ivar data: the text inside the parentheses after the result (may hold
        spaces and parentheses), or ``None`` if there were none.
    :ivar extra: ``key=value`` pairs after the result and data (``endpos``,
        speech ``score0``...); double-quoted values are unquoted.
    :ivar text: free text after the result that is not ``key=value`` pairs
        (``"Gosub complete"``), or the message of a non-200 reply.
    :ivar usage: for a 520 block, the usage lines between the first and the
        last line, joined with ``"\\n"``, markup left as is.
    :ivar raw: the reply as received: its line(s) joined with ``"\\n"``.
    :ivar interim: the ``100`` lines that preceded it, raw.
    """

    code: int
    result: Optional[str] = None
    data: Optional[str] = None
    extra: Dict[str, str] = field(default_factory=dict)
    text: str = ""
    usage: str = ""
    raw: str = ""
    interim: Tuple[str, ...] = ()

    def resultAsInt(self) -> int:
        """Return :attr:`result` as an int.

        :raises ~starpy.error.AGIReplyError: the result is missing or not a
            number (it is also a ``ValueError``).
        """
        result = self.result
        if result is None:
            raise AGIReplyError("reply has no result: %r" % (self.raw,), reply=self.raw)
        try:
            return int(result)
        except ValueError:
            raise AGIReplyError("result is not a number: %r" % (self.raw,),
                                reply=self.raw) from None


@dataclass(frozen=True, slots=True)
class AGIInterimReply:
    """An interim ``100`` line (``100 result=0 Trying...``), not a reply."""

    raw: str


@dataclass(frozen=True, slots=True)
class AGIHangupSignal:
    """The unsolicited ``HANGUP`` line: the channel hung up.

    It answers no command; the reply to the pending command comes later.
    """


#: The one instance of :class:`AGIHangupSignal`.
HANGUP_SIGNAL = AGIHangupSignal()

AGIEvent = Union[AGIEnvironment, AGIReply, AGIInterimReply, AGIHangupSignal]
