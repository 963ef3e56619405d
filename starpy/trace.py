"""Wire tracing: every line sent and received on one connection, for debugging.

Off by default.  Turn it on for one connection with ``protocol.setTrace(True)``
(and off again at any time), or for every new connection of a factory with
its ``trace`` argument.  Lines are logged at DEBUG level on the logger
``starpy.wire`` (so ``logging.getLogger('starpy.wire').setLevel(logging.DEBUG)``
and a handler are needed to see them), one record per line::

    AMI#3 >> Action: Login
    AMI#3 >> Secret: ********
    AGI#7 << 200 result=1 (Local/100@fastagi-00000005;2)

The values of ``Secret`` and ``Key`` headers never reach the log.
"""
from __future__ import annotations

import itertools
import logging
from typing import Iterable

from starpy.codec.ami import SECRET_HEADERS

__all__ = ["WireTracer", "redactLine", "log"]

log = logging.getLogger("starpy.wire")

_ids = itertools.count(1)


def redactLine(line: str) -> str:
    """*line* with the value masked if it is a ``Secret:`` or ``Key:`` header."""
    name, sep, _ = line.partition(":")
    if sep and name.strip().lower() in SECRET_HEADERS:
        return "%s: ********" % (name,)
    return line


class WireTracer:
    """Logs one connection's lines when enabled.

    :param label: what the connection is (``'AMI'``, ``'AGI'``); a number
        unique in this process is appended so interleaved connections can
        be told apart.
    """

    def __init__(self, label: str, enabled: bool = False) -> None:
        self.name = "%s#%d" % (label, next(_ids))
        self.enabled = enabled

    def sent(self, lines: Iterable[str]) -> None:
        """Log *lines* as sent (``>>``)."""
        self._log(">>", lines)

    def received(self, lines: Iterable[str]) -> None:
        """Log *lines* as received (``<<``)."""
        self._log("<<", lines)

    def note(self, text: str) -> None:
        """Log a remark about the connection (``##``)."""
        if self.enabled:
            log.debug("%s ## %s", self.name, text)

    def _log(self, direction: str, lines: Iterable[str]) -> None:
        if not self.enabled:
            return
        for line in lines:
            log.debug("%s %s %s", self.name, direction, redactLine(line))
