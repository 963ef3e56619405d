"""Moved to :mod:`starpy.cli.ami`; this name still imports it."""
from __future__ import annotations

from starpy.cli.ami import (
    CommandError as CommandError,
    loadApplication as loadApplication,
    loginFor as loginFor,
    EventFilter as EventFilter,
    formatMessage as formatMessage,
    formatJSON as formatJSON,
    SERVER_KEY as SERVER_KEY,
    printable as printable,
    escapingStream as escapingStream,
    parseAssignments as parseAssignments,
    checkSendable as checkSendable,
    runEvents as runEvents,
    startMetrics as startMetrics,
    runAction as runAction,
    runOriginate as runOriginate,
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
