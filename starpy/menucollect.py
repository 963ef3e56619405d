"""Moved to :mod:`starpy.menu.collect`; this name still imports it."""
from __future__ import annotations

from starpy.menu.collect import (
    CollectDigits as CollectDigits,
    CollectPassword as CollectPassword,
    CollectAudio as CollectAudio,
    AudioFiles as AudioFiles,
    LocalFiles as LocalFiles,
)

__all__ = [
    "CollectDigits",
    "CollectPassword",
    "CollectAudio",
    "AudioFiles",
    "LocalFiles",
]
