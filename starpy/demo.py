"""Moved to :mod:`starpy.cli.demo`; this name still imports it."""
from __future__ import annotations

from starpy.cli.demo import (
    ATLANTIC as ATLANTIC,
)
from starpy.cli.demo import (
    CALLERS as CALLERS,
)
from starpy.cli.demo import (
    DEMO_MENU as DEMO_MENU,
)
from starpy.cli.demo import (
    CallerScript as CallerScript,
)
from starpy.cli.demo import (
    atlanticMenu as atlanticMenu,
)
from starpy.cli.demo import (
    demoIVR as demoIVR,
)
from starpy.cli.demo import (
    runDemo as runDemo,
)

__all__ = [
    "runDemo",
    "atlanticMenu",
    "ATLANTIC",
    "DEMO_MENU",
    "demoIVR",
    "CALLERS",
    "CallerScript",
]
