"""Moved to :mod:`starpy.cli.serve`; this name still imports it."""
from __future__ import annotations

from starpy.cli.serve import (
    Route as Route,
)
from starpy.cli.serve import (
    loadHandler as loadHandler,
)
from starpy.cli.serve import (
    log as log,
)
from starpy.cli.serve import (
    parseRoute as parseRoute,
)
from starpy.cli.serve import (
    parseRoutes as parseRoutes,
)
from starpy.cli.serve import (
    prepareServe as prepareServe,
)
from starpy.cli.serve import (
    runServe as runServe,
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
