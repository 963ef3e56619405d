"""Wire tracing: every line sent and received on one connection, for debugging.

Off by default.  Turn it on for one connection with ``protocol.setTrace(True)``
(and off again at any time), or for every new connection of a factory with
its ``trace`` argument.  Lines are logged at DEBUG level on the logger
``starpy.wire`` (so ``logging.getLogger('starpy.wire').setLevel(logging.DEBUG)``
and a handler are needed to see them), one record per line::

    AMI#3 >> Action: Login
    AMI#3 >> Secret: ********
    AGI#7 << 200 result=1 (Local/100@fastagi-00000005;2)

The values of ``Secret`` and ``Key`` headers never reach the log; nor do
those of the headers hidden for a while with :meth:`WireTracer.hide` (an
AsyncAGI session collecting a password hides the ``Result`` of its replies
and the ``Digit`` of DTMF events on the AMI connection that carries it).
"""
from __future__ import annotations

import itertools
import logging
from typing import Callable, Dict, Iterable, List

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
        self._hidden: Dict[str, int] = {}

    def hide(self, *headers: str) -> Callable[[], None]:
        """Mask the values of *headers* in the lines logged from now on.

        :returns: a function that ends this hiding (headers hidden twice stay
            hidden until both have ended).
        """
        names = [header.lower() for header in headers]
        for name in names:
            self._hidden[name] = self._hidden.get(name, 0) + 1
        done: List[bool] = []

        def reveal() -> None:
            if done:
                return
            done.append(True)
            for name in names:
                if self._hidden[name] == 1:
                    del self._hidden[name]
                else:
                    self._hidden[name] -= 1

        return reveal

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
        hidden = self._hidden
        for line in lines:
            if hidden:
                name, sep, _ = line.partition(":")
                if sep and name.strip().lower() in hidden:
                    line = "%s: (hidden)" % (name,)
            log.debug("%s %s %s", self.name, direction, redactLine(line))
