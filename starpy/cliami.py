"""Moved to :mod:`starpy.cli.ami`; this name still imports it."""
from __future__ import annotations

from starpy.cli.ami import (
    SERVER_KEY as SERVER_KEY,
)
from starpy.cli.ami import (
    CommandError as CommandError,
)
from starpy.cli.ami import (
    EventFilter as EventFilter,
)
from starpy.cli.ami import (
    checkSendable as checkSendable,
)
from starpy.cli.ami import (
    escapingStream as escapingStream,
)
from starpy.cli.ami import (
    formatJSON as formatJSON,
)
from starpy.cli.ami import (
    formatMessage as formatMessage,
)
from starpy.cli.ami import (
    loadApplication as loadApplication,
)
from starpy.cli.ami import (
    loginFor as loginFor,
)
from starpy.cli.ami import (
    parseAssignments as parseAssignments,
)
from starpy.cli.ami import (
    printable as printable,
)
from starpy.cli.ami import (
    runAction as runAction,
)
from starpy.cli.ami import (
    runEvents as runEvents,
)
from starpy.cli.ami import (
    runOriginate as runOriginate,
)
from starpy.cli.ami import (
    startMetrics as startMetrics,
)

__all__ = [
    "CommandError",
    "loadApplication",
    "loginFor",
    "EventFilter",
    "formatMessage",
    "formatJSON",
    "SERVER_KEY",
    "printable",
    "escapingStream",
    "parseAssignments",
    "checkSendable",
    "runEvents",
    "startMetrics",
    "runAction",
    "runOriginate",
]
