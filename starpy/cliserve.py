"""Moved to :mod:`starpy.cli.serve`; this name still imports it."""
from __future__ import annotations

from starpy.cli.serve import (
    Route as Route,
    parseRoute as parseRoute,
    parseRoutes as parseRoutes,
    loadHandler as loadHandler,
    prepareServe as prepareServe,
    runServe as runServe,
    log as log,
)

__all__ = [
    "Route",
    "parseRoute",
    "parseRoutes",
    "loadHandler",
    "prepareServe",
    "runServe",
    "log",
]
