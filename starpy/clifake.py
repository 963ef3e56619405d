"""Moved to :mod:`starpy.cli.fake`; this name still imports it."""
from __future__ import annotations

from starpy.cli.fake import (
    runFake as runFake,
    FakeAsterisk as FakeAsterisk,
    configText as configText,
)

__all__ = [
    "runFake",
    "FakeAsterisk",
    "configText",
]
