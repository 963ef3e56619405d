"""What happened on a fake AGI call, line by line, with times.

Private to :mod:`starpy.testing.agi`, which re-exports the public names.
"""

from __future__ import annotations

import attrs


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

