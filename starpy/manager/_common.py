"""What the parts of the AMI client share: the logger, the default timeouts
and the checks of their arguments."""
from __future__ import annotations

import logging
from typing import Any, Iterable, Optional, Union

from starpy._idioms import checkSeconds
from starpy.amiactions import eventClassList

log = logging.getLogger("starpy.manager")

DEFAULT_TIMEOUT = 30.0
"""Default timeout of an action, in seconds."""

DEFAULT_BOOT_TIMEOUT = 30.0
"""Default bound, in seconds, on the wait for ``FullyBooted`` after a login
(:class:`AMIService <starpy.manager.AMIService>` with ``waitBooted``,
:class:`AMIPool <starpy.pool.AMIPool>`)."""

DEFAULT_LOGIN_TIMEOUT = 10.0
"""Default deadline of :class:`AMIService <starpy.manager.AMIService>` for the
banner and the login of each connection, in seconds."""


def checkTimeout(value: Any, what: str) -> None:
    """Refuse a timeout that is not ``None`` nor a finite number >= 0."""
    checkSeconds(value, what, allowNone=True)


def loginEvents(events: Union[bool, str, Iterable[str]]) -> Optional[str]:
    """The ``Events`` header of a login (``None``: none, every event)."""
    if events is True:
        return None
    if events is False:
        return "off"
    return eventClassList(events)


def escaped(text: str, limit: int = 100) -> str:
    """*text* (as received, maybe with surrogate-escaped bytes) shown safely:
    non-printable bytes escaped, at most *limit* bytes, quoted."""
    raw = text.encode("utf-8", "surrogateescape")
    shown = repr(raw[:limit])[1:]
    return shown + ("..." if len(raw) > limit else "")
