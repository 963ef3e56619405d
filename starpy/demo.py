"""Moved to :mod:`starpy.cli.demo`; this name still imports it."""
from __future__ import annotations

from starpy.cli.demo import (
    runDemo as runDemo,
    DEMO_MENU as DEMO_MENU,
    demoIVR as demoIVR,
    CALLERS as CALLERS,
    CallerScript as CallerScript,
)

__all__ = [
    "runDemo",
    "DEMO_MENU",
    "demoIVR",
    "CALLERS",
    "CallerScript",
]
