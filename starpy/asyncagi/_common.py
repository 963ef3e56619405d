"""What the AsyncAGI session and dispatcher share (private: ``starpy.asyncagi``
re-exports the public names)."""
from __future__ import annotations

import logging
from typing import (
    Any,
    FrozenSet,
    Iterable,
    Optional,
    Sequence,
    Union,
)
from urllib.parse import quote

from starpy import error
from starpy.codec.agi import ENCODING, ENCODING_ERRORS
from starpy.codec.appargs import appArguments

log = logging.getLogger("starpy.asyncagi")

COMMAND_HEADER = "Command: "

#: The AMI events a running dispatcher listens to.
EVENTS = ("AsyncAGIStart", "AsyncAGIExec", "AsyncAGIEnd", "AsyncAGI", "HangupRequest",
          "Hangup", "Rename")


MAX_ORIGINATE_ARGUMENTS = 126
"""Most *arguments* :meth:`AsyncAGIDispatcher.originate` passes: ``AGI()``
splits its data into at most 128 pieces (``MAX_ARGS``), the script name
first, and leaves the 128th unsplit and unescaped."""

ORIGINATE_ARGUMENTS_BUDGET = 512
"""Most bytes the ``agi_arg_N: value`` lines of the arguments may take.
Asterisk reads the whole AsyncAGI environment with one 1024-byte read (and
URL-encodes it into 2048 bytes): the fixed ``agi_*`` lines take about 450
of them, and whatever does not fit is cut, the rest then read as the
first command's result."""


def originateData(arguments: Sequence[Any]) -> str:
    """``agi:async`` and *arguments*, escaped for Asterisk's argument parser.

    :raises ValueError: too many arguments, arguments too long for the
        AsyncAGI environment, or one holds NUL, CR or LF.
    """
    texts = [argument if isinstance(argument, str) else str(argument) for argument in arguments]
    if len(texts) > MAX_ORIGINATE_ARGUMENTS:
        raise error.LocalProtocolError("AsyncAGI originate takes at most %d arguments (%d given): AGI()"
                         " leaves the rest unsplit" % (MAX_ORIGINATE_ARGUMENTS, len(texts)))
    data = appArguments(["agi:async"] + texts, "AsyncAGI argument")
    lines = "".join("agi_arg_%d: %s\n" % (number, text)
                    for number, text in enumerate(texts, 1)).encode(ENCODING, ENCODING_ERRORS)
    encoded = len(quote(lines, safe=""))
    if len(lines) > ORIGINATE_ARGUMENTS_BUDGET or encoded > 2 * ORIGINATE_ARGUMENTS_BUDGET:
        raise error.LocalProtocolError("AsyncAGI originate arguments take %d bytes of the AGI environment"
                         " (%d URL-encoded); at most %d (%d) fit: Asterisk would cut them"
                         % (len(lines), encoded, ORIGINATE_ARGUMENTS_BUDGET,
                            2 * ORIGINATE_ARGUMENTS_BUDGET))
    return data


def nameSet(value: Union[str, Iterable[str], None]) -> Optional[FrozenSet[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)
