"""The environment block: ``agi_*: value`` lines up to an empty line.
"""
from __future__ import annotations

import re
import sys
from typing import Dict, List, Optional, Tuple
from urllib.parse import unquote

from starpy.codec.agi._events import DEFAULT_MAX_ENVIRONMENT_LINES, AGIEnvironment
from starpy.error import AGIProtocolError


class AGIEnvironmentParser:
    """Read the ``key: value`` lines of the environment block, one at a time.

    :param maxLines: the most lines the block may have (the empty line
        that ends it not counted).
    """

    def __init__(self, maxLines: int = DEFAULT_MAX_ENVIRONMENT_LINES) -> None:
        self.maxLines = maxLines
        self._variables: Dict[str, str] = {}
        self._count = 0
        self.done = False

    def feedLine(self, line: str) -> Optional[AGIEnvironment]:
        """Take one line (without its newline).

        :return: the complete :class:`AGIEnvironment` once the empty line
            that ends the block arrives, else ``None``.
        :raises AGIProtocolError: a line is not ``key: value``, the block
            is too long, or the block already ended.
        """
        return self.feedLines([line])[0]

    def feedLines(self, lines: List[str], start: int = 0) -> Tuple[Optional[AGIEnvironment], int]:
        """Take ``lines[start:]`` (without newlines) until the block ends.

        :return: ``(environment, next)``: the complete
            :class:`AGIEnvironment` (or ``None`` if the block has not ended
            yet) and the index of the first line not consumed.
        :raises AGIProtocolError: as :meth:`feedLine`.
        """
        if self.done:
            raise AGIProtocolError("environment block already complete")
        variables = self._variables
        count = self._count
        maxLines = self.maxLines
        for index, line in enumerate(lines[start:] if start else lines, start + 1):
            if line[-1:] == "\r":
                line = line[:-1]
            if not line:
                self.done = True
                self._count = count
                return AGIEnvironment(variables), index
            count += 1
            if count > maxLines:
                raise AGIProtocolError("environment block longer than %d lines" % (maxLines,))
            key, sep, value = line.partition(": ")
            if not sep:
                key, sep, value = line.partition(":")
                key = key.strip()
                if not sep or not key:
                    raise AGIProtocolError("not an environment line: %r" % (line[:100],))
            elif not key or key[-1] == " " or key[0] == " ":
                key = key.strip()
                if not key:
                    raise AGIProtocolError("not an environment line: %r" % (line[:100],))
            variables[key.lower()] = value
        self._count = count
        return None, len(lines)


    @property
    def linesRead(self) -> int:
        """How many lines of the block were taken so far."""
        return self._count

    def feedPlainText(self, text: str) -> Optional[Tuple[Optional[AGIEnvironment], Optional[str]]]:
        """Take the block's lines in *text* (complete lines joined with
        ``"\\n"``, no CR, the block not ended yet) if each of them is a
        plain ``key: value`` line (the key lower-case letters, digits and
        ``_``, as Asterisk sends them) and they are no more than the block
        may still have: then they are checked in one match of a regular
        expression and split in two passes of ``str`` methods, with no
        Python work per line.

        :return: ``(environment, rest)``: the environment once the block
            has ended (else ``None``), and the text of the lines after the
            empty line that ends it (``None`` if there are none); or
            ``None``: nothing was taken, :meth:`feedLines` reads the lines.

        (The environment of each reference W3 session: 1,000 sessions in
        ``bench/w3_driver.py``, a loop over the lines without a count nor a
        CR check per line took 946 to 928 M instructions, this pass 849 to
        844 M, hash seed 0, bench/RESULTS.md; a loop of partition() over
        the lines measured 83 K instructions per block, a pass of
        ``re.findall`` 72 K.  This match and split, 693 to 678 M; see
        bench/RESULTS.md, "W3, fourth round".)
        """
        stop = text.find("\n\n")
        if stop >= 0:
            block = text[:stop]
            rest: Optional[str] = text[stop + 2 :]
        elif text[-1:] == "\n":
            block = text[:-1]
            rest = None
        else:
            block = text
            rest = None
            stop = -2  # the block goes on in the next chunk
        if not block:
            return None  # an empty first line: feedLines says what it is
        count = block.count("\n") + 1
        if count > self.maxLines - self._count:
            return None
        if not self._takePlainLines(block, count):
            return None
        if stop == -2:
            return None, None
        self.done = True
        return AGIEnvironment(self._variables), rest

    def takeWholeBlock(self, block: str) -> Optional[AGIEnvironment]:
        """Take the whole block, *block* its lines joined with ``"\\n"``
        (the empty line that ends it not included), if its lines are plain
        (as :meth:`feedPlainText`; an empty line is refused by the match
        itself) and nothing was read before.

        :return: the environment, or ``None``: nothing was taken.

        (No scan for empty lines or the block's end before the match:
        678 to 673 M instructions over 1,000 reference W3 sessions in
        ``bench/w3_driver.py``, bench/RESULTS.md.)
        """
        if self._count or self.done or "\r" in block:
            return None
        count = block.count("\n") + 1
        if count > self.maxLines or not self._takePlainLines(block, count):
            return None
        self.done = True
        return AGIEnvironment(self._variables)

    def _takePlainLines(self, block: str, count: int) -> bool:
        """Take the *count* lines of *block* if each is plain (see
        :data:`_PLAIN_ENVIRONMENT_BLOCK`); return whether they were taken."""
        if _PLAIN_ENVIRONMENT_BLOCK.fullmatch(block) is None:
            return False  # a line of another form: feedLines reads them all
        # Each line is "key: value": with no other ": " in the values, the
        # block split at both separators alternates keys and values.
        parts = block.replace(": ", "\n").split("\n")
        if len(parts) != 2 * count:
            return False  # a value holding ": ": feedLines reads the lines
        pairs = iter(parts)
        self._variables.update(zip(pairs, pairs, strict=True))
        self._count += count
        return True


#: Possessive repeats (nothing to backtrack into) where Python has them
#: (3.11); before, plain repeats, which match exactly the same texts here.
_POSSESSIVE = "+" if sys.version_info >= (3, 11) else ""

#: One plain line of the environment (see below).
_PLAIN_ENVIRONMENT_LINE = r"[a-z0-9_]+%s: [^\n]*%s" % (_POSSESSIVE, _POSSESSIVE)

#: Lines of the environment as Asterisk writes them, ``key: value``
#: joined by ``"\n"`` (see :meth:`AGIEnvironmentParser.feedPlainText`):
#: for such a key, ``line.partition(": ")`` and ``key.lower()`` give the
#: same.  Possessive repeats: nothing to backtrack into (the match alone
#: measured 22 K instructions per reference block with plain repeats,
#: 15.6 K so; the pattern is joined from its line's, which pydoctor's
#: regular expression reader, without possessive repeats, leaves alone).
_PLAIN_ENVIRONMENT_BLOCK = re.compile(
    "%s(?:\n%s)*%s" % (_PLAIN_ENVIRONMENT_LINE, _PLAIN_ENVIRONMENT_LINE, _POSSESSIVE))


def decodeAsyncValue(value: str) -> str:
    """The text of an AsyncAGI event's ``Env`` or ``Result`` header, which
    Asterisk URL-encodes (``ast_uri_encode``): for :func:`parseEnvironment`
    and :func:`parseReplyText <starpy.codec.agi.parseReplyText>`."""
    return unquote(value)


def parseEnvironment(
    text: str, maxLines: int = DEFAULT_MAX_ENVIRONMENT_LINES
) -> Dict[str, str]:
    """Parse a whole environment block (AsyncAGI's decoded ``Env`` header).

    The text may end with the empty line or not.

    :return: lower-cased keys to values.
    :raises AGIProtocolError: as :meth:`AGIEnvironmentParser.feedLine`.
    """
    parser = AGIEnvironmentParser(maxLines)
    for line in text.split("\n"):
        env = parser.feedLine(line)
        if env is not None:
            return env.variables
    return parser._variables


#: The names of the first dialplan arguments, made once.
_ARGUMENT_KEYS = tuple("agi_arg_%d" % (index,) for index in range(1, 17))


def dialplanArguments(variables: Dict[str, str]) -> List[str]:
    """The dialplan's arguments of an environment: ``agi_arg_1``,
    ``agi_arg_2``... up to the first number missing.

    ``AGI(agi://host/script,a,,b)`` gives ``["a", "", "b"]``.
    """
    arguments: List[str] = []
    for key in _ARGUMENT_KEYS:  # names made once: the usual few arguments
        if key not in variables:
            return arguments
        arguments.append(variables[key])
    key = "agi_arg_%d" % (len(arguments) + 1,)
    while key in variables:
        arguments.append(variables[key])
        key = "agi_arg_%d" % (len(arguments) + 1,)
    return arguments
