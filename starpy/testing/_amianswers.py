"""What the fake AMI server's answers share: reading a header, refusing
an action that lacks one, finding the channel it names (with Asterisk's
error texts, which each caller passes), and writing a reply by hand.

Private to :mod:`starpy.testing`: the session's built-in answers
(``starpy.testing.ami._builtins``) and the default ones
(``starpy.testing._amidefaults``, ``starpy.testing._amiqueues``) use it.
It imports nothing of :mod:`starpy.testing.ami` when run, so that package
may import the default answers.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, List, Optional, Tuple

from twisted.internet import defer

from starpy.codec.ami import Message, formatMessage

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.ami import FakeAMIServerProtocol, FakeChannel

__all__ = ["Pairs", "Handler", "header", "missing", "channelOrError", "prefixed",
           "respondRaw", "deviceOf"]

Pairs = List[Tuple[str, str]]
Handler = Callable[["FakeAMIServerProtocol", Message], Optional["defer.Deferred[None]"]]

_DEVICE_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])?$")


def deviceOf(channelName: str) -> str:
    """The device of a channel name: ``PJSIP/100-00000001`` -> ``PJSIP/100``,
    ``Local/100@ctx-0000001f;1`` -> ``Local/100@ctx``."""
    return _DEVICE_SUFFIX.sub("", channelName)


def header(action: Message, name: str) -> str:
    """The value of header *name* of *action*; ``''`` when it is absent."""
    return action.get(name.lower(), "") or ""


def missing(session: "FakeAMIServerProtocol", action: Message,
            *required: Tuple[str, str]) -> bool:
    """Whether a ``(header, message)`` of *required* is missing from *action*:
    if so, the error reply with the first missing one's message is sent."""
    for name, message in required:
        if not header(action, name):
            session.respondError(action, message)
            return True
    return False


def channelOrError(session: "FakeAMIServerProtocol", action: Message, headerName: str,
                   ifMissing: str, ifUnknown: str) -> Optional["FakeChannel"]:
    """The channel named by header *headerName* of *action*, or ``None``
    after the error reply: *ifMissing* without the header, *ifUnknown*
    (which may hold ``%s`` for the name) when no channel has that name."""
    name = header(action, headerName)
    if not name:
        session.respondError(action, ifMissing)
        return None
    channel = session.factory.channels.get(name)
    if channel is None:
        session.respondError(action, ifUnknown % (name,) if "%s" in ifUnknown else ifUnknown)
    return channel


def prefixed(prefix: str, channel: "FakeChannel") -> Pairs:
    """*channel*'s header block with each name after *prefix* (``Parkee``...)."""
    return [(prefix + name, value) for name, value in channel.headers()]


def respondRaw(session: "FakeAMIServerProtocol", action: Message, response: str,
               lines: bytes) -> None:
    """Reply *response* with *lines* (CRLF-ended header bytes, written as
    they are) after the ActionID: for the replies whose bytes Asterisk
    shapes by hand (a bare LF, a line without a colon)."""
    pairs: Pairs = [("Response", response)]
    if action.get("actionid") is not None:
        pairs.append(("ActionID", action["actionid"]))
    session.writeRaw(formatMessage(pairs)[:-2] + lines + b"\r\n")

