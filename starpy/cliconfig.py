"""Moved to :mod:`starpy.cli.checkconfig`; this name still imports it."""
from __future__ import annotations

from starpy.cli.checkconfig import (
    runCheckConfig as runCheckConfig,
)

__all__ = [
    "runCheckConfig",
]
