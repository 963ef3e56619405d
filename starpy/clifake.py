"""Moved to :mod:`starpy.cli.fake`; this name still imports it."""
from __future__ import annotations

from starpy.cli.fake import (
    FakeAsterisk as FakeAsterisk,
)
from starpy.cli.fake import (
    configText as configText,
)
from starpy.cli.fake import (
    runFake as runFake,
)

__all__ = [
    "runFake",
    "FakeAsterisk",
    "configText",
]
