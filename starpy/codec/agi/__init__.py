"""Sans-IO codec for the AGI wire format (FastAGI, classic AGI and AsyncAGI).

Nothing here knows about Twisted, sockets or logging: bytes or text go in,
values come out, and the reverse.

Reading (Asterisk to us):

* :class:`AGIDecoder` turns a byte stream into events: first one
  :class:`AGIEnvironment` (the ``agi_*`` block ended by an empty line), then
  :class:`AGIReply` (a final reply), :class:`AGIInterimReply` (``100
  result=0 Trying...``) and :class:`AGIHangupSignal` (the unsolicited
  ``HANGUP`` line).  Line length and the size of the environment block are
  bounded; breaking a bound raises :class:`AGIProtocolError <starpy.error.AGIProtocolError>`.
* :class:`AGIEnvironmentParser` and :class:`AGIReplyReader` are the two
  halves of the decoder, usable line by line; :func:`parseEnvironment` and
  :func:`parseReplyText` read whole texts (AsyncAGI's URL-decoded ``Env`` and
  ``Result`` headers).

Writing (us to Asterisk):

* :func:`quoteArgument` quotes one argument the way res_agi's ``parse_args``
  reads it back: double quotes group words, a backslash escapes the next
  character, single quotes are literal, an empty argument is ``""``.
* :func:`formatCommand` builds a command line, :func:`encodeCommand` its bytes.
* :func:`agiBufferSize` and :func:`maxCommandBytes` say how long a command
  line the Asterisk of a given ``agi_version`` reads as one command;
  :func:`encodeCommandLine` refuses a line it would split.

The modules of this package are private; every name is imported from here.
"""
from __future__ import annotations

from starpy.codec.agi._commands import (
    AGI_BUFFER_LARGE,
    AGI_BUFFER_SMALL,
    AGI_COMMANDS,
    MAX_WORDS,
    agiBufferSize,
    commandName,
    encodeCommand,
    encodeCommandLine,
    formatCommand,
    maxCommandBytes,
    quoteArgument,
)
from starpy.codec.agi._decoder import AGIDecoder
from starpy.codec.agi._environment import (
    AGIEnvironmentParser,
    decodeAsyncValue,
    dialplanArguments,
    parseEnvironment,
)
from starpy.codec.agi._events import (
    DEFAULT_MAX_ENVIRONMENT_LINES,
    DEFAULT_MAX_LINE_LENGTH,
    DEFAULT_MAX_USAGE_LINES,
    ENCODING,
    ENCODING_ERRORS,
    HANGUP_SIGNAL,
    AGIEnvironment,
    AGIEvent,
    AGIHangupSignal,
    AGIInterimReply,
    AGIReply,
    Argument,
)
from starpy.codec.agi._replies import (
    AGIReplyReader,
    parseReplyLine,
    parseReplyText,
    parseUsualReply,
    usualCodeAndEndpos,
    usualData,
    usualExecText,
    usualResultInt,
)

__all__ = [
    "Argument",
    "AGIEnvironment",
    "AGIReply",
    "AGIInterimReply",
    "AGIHangupSignal",
    "HANGUP_SIGNAL",
    "AGIEvent",
    "AGIEnvironmentParser",
    "AGIReplyReader",
    "AGIDecoder",
    "DEFAULT_MAX_LINE_LENGTH",
    "DEFAULT_MAX_ENVIRONMENT_LINES",
    "DEFAULT_MAX_USAGE_LINES",
    "AGI_BUFFER_SMALL",
    "AGI_COMMANDS",
    "commandName",
    "AGI_BUFFER_LARGE",
    "MAX_WORDS",
    "ENCODING",
    "ENCODING_ERRORS",
    "agiBufferSize",
    "maxCommandBytes",
    "encodeCommandLine",
    "parseEnvironment",
    "decodeAsyncValue",
    "dialplanArguments",
    "parseReplyLine",
    "parseUsualReply",
    "parseReplyText",
    "usualResultInt",
    "usualData",
    "usualCodeAndEndpos",
    "usualExecText",
    "quoteArgument",
    "formatCommand",
    "encodeCommand",
]
