"""Usage texts that the fake Asterisk sends in a ``520`` block.

Asterisk builds these texts from its XML documentation; the two captured
from Asterisk 22 (``STREAM FILE`` and ``GET DATA``, see
``tests/fixtures/fastagi-hello.txt``) are kept byte for byte, markup
included.  The others are short descriptions written for StarPy: what
matters to a client is the framing (``520-`` line, raw usage lines, final
``"520 "`` line), not Asterisk's prose.
"""

from __future__ import annotations

from typing import Mapping

__all__ = ["USAGE"]

_STREAM_FILE = (
    "Send the given file, allowing playback to be interrupted by the given"
    " digits, if any. Returns <literal>0</literal> if playback completes"
    " without a digit being pressed, or the ASCII numerical value of the digit"
    " if one was pressed, or <literal>-1</literal> on error or if the channel"
    " was disconnected. If musiconhold is playing before calling stream file"
    " it will be automatically stopped and will not be restarted after"
    " completion.\n"
    "It sets the following channel variables upon completion:\n"
    "<variable>PLAYBACKSTATUS</variable>: The status of the playback attempt"
    " as a text string.\n"
    "    <value>SUCCESS</value>\n"
    "    <value>FAILED</value>"
)

_GET_DATA = (
    "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
    "Returns the digits received from the channel at the other end."
)

#: Usage text of each of the 47 AGI commands, keyed by the command's words in
#: upper case.  Lines are separated by ``\n``; no trailing newline.
USAGE: Mapping[str, str] = {
    "ANSWER": "ANSWER: answers the channel if it is not up yet.\n"
    "Result 0 on success, -1 on failure.",
    "ASYNCAGI BREAK": "ASYNCAGI BREAK: leaves Async AGI and returns to the dialplan.",
    "CHANNEL STATUS": "CHANNEL STATUS [channelname]: state of this or the named channel.\n"
    "Result 0 (down) .. 7 (busy), 6 is up; -1 if there is no such channel.",
    "CONTROL STREAM FILE": "CONTROL STREAM FILE filename escape_digits [skipms [ffchar"
    " [rewchr [pausechr [offsetms]]]]]\n"
    "Plays a file the caller can wind, rewind and pause; endpos is in milliseconds.",
    "DATABASE DEL": "DATABASE DEL family key: removes one AstDB entry.\n"
    "Result 1 if it was removed, 0 otherwise.",
    "DATABASE DELTREE": "DATABASE DELTREE family [keytree]: removes a family or a tree.\n"
    "Result 1 if something was removed, 0 otherwise.",
    "DATABASE GET": "DATABASE GET family key: reads one AstDB entry.\n"
    "Result 1 with the value in parentheses, or 0 if it is not set.",
    "DATABASE PUT": "DATABASE PUT family key value: stores one AstDB entry.\n"
    "Result 1 on success, 0 otherwise.",
    "EXEC": "EXEC application [options]: runs a dialplan application.\n"
    "Result is what the application returns, -2 if it does not exist.",
    "GET DATA": _GET_DATA,
    "GET FULL VARIABLE": "GET FULL VARIABLE expression [channelname]: expands ${...}"
    " in the expression.\n"
    "Result 1 with the expansion in parentheses, 0 if the channel does not exist.",
    "GET OPTION": "GET OPTION filename escape_digits [timeout]: STREAM FILE, then"
    " waits timeout ms for one of the escape digits.",
    "GET VARIABLE": "GET VARIABLE variablename: reads a channel variable or function.\n"
    "Result 1 with the value in parentheses, 0 if it is not set.",
    "GOSUB": "GOSUB context extension priority [argument]: runs a dialplan"
    " subroutine; a 100 line comes first, then the 200 line when it returns.",
    "HANGUP": "HANGUP [channelname]: hangs up this or the named channel.\n"
    "Result 1 on success, -1 if there is no such channel.",
    "NOOP": "NOOP: does nothing. Result 0.",
    "RECEIVE CHAR": "RECEIVE CHAR timeout: waits timeout ms for one character of text.",
    "RECEIVE TEXT": "RECEIVE TEXT timeout: waits timeout ms for a text message.",
    "RECORD FILE": "RECORD FILE filename format escape_digits timeout [offset_samples]"
    " [BEEP] [s=silence]\n"
    "Records until an escape digit, the timeout (ms, -1 for none) or hangup.",
    "SAY ALPHA": "SAY ALPHA string escape_digits: spells a string.",
    "SAY DATE": "SAY DATE seconds escape_digits: says the date of a Unix time.",
    "SAY DATETIME": "SAY DATETIME seconds escape_digits [format [timezone]]: says a Unix"
    " time in the given format.",
    "SAY DIGITS": "SAY DIGITS number escape_digits: says a number digit by digit.",
    "SAY NUMBER": "SAY NUMBER number escape_digits [gender]: says a number.",
    "SAY PHONETIC": "SAY PHONETIC string escape_digits: spells a string with the"
    " phonetic alphabet.",
    "SAY TIME": "SAY TIME seconds escape_digits: says the time of a Unix time.",
    "SEND IMAGE": "SEND IMAGE image: sends an image on channels that support it.",
    "SEND TEXT": "SEND TEXT \"text\": sends text on channels that support it.",
    "SET AUTOHANGUP": "SET AUTOHANGUP seconds: hangs up the channel after the given"
    " time; 0 cancels.",
    "SET CALLERID": "SET CALLERID number: sets the caller id, for example"
    " '\"Name\" <1234>'.",
    "SET CONTEXT": "SET CONTEXT context: sets the context to continue in.",
    "SET EXTENSION": "SET EXTENSION extension: sets the extension to continue at.",
    "SET MUSIC": "SET MUSIC on|off [class]: starts or stops music on hold.",
    "SET PRIORITY": "SET PRIORITY priority: sets the priority (number or label) to"
    " continue at.",
    "SET VARIABLE": "SET VARIABLE variablename value: sets a channel variable.",
    "SPEECH ACTIVATE GRAMMAR": "SPEECH ACTIVATE GRAMMAR name: activates a loaded grammar.",
    "SPEECH CREATE": "SPEECH CREATE engine: creates a speech recognition object.",
    "SPEECH DEACTIVATE GRAMMAR": "SPEECH DEACTIVATE GRAMMAR name: deactivates a grammar.",
    "SPEECH DESTROY": "SPEECH DESTROY: destroys the speech recognition object.",
    "SPEECH LOAD GRAMMAR": "SPEECH LOAD GRAMMAR name path: loads a grammar.",
    "SPEECH RECOGNIZE": "SPEECH RECOGNIZE prompt timeout [offset]: plays a prompt and"
    " listens for speech or a digit.",
    "SPEECH SET": "SPEECH SET name value: sets an engine setting.",
    "SPEECH UNLOAD GRAMMAR": "SPEECH UNLOAD GRAMMAR name: unloads a grammar.",
    "STREAM FILE": _STREAM_FILE,
    "TDD MODE": "TDD MODE on|off|mate|tdd: switches TDD mode on channels that support it.",
    "VERBOSE": "VERBOSE message [level]: logs a message on the Asterisk console.",
    "WAIT FOR DIGIT": "WAIT FOR DIGIT timeout: waits timeout ms (-1 for ever) for a digit.\n"
    "Result is the digit's ASCII code, 0 on timeout, -1 on hangup.",
}
