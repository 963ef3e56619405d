"""Moved to :mod:`starpy.menu.collect`; this name still imports it."""
from __future__ import annotations

from starpy.menu.collect import (
    AudioFiles as AudioFiles,
)
from starpy.menu.collect import (
    CollectAudio as CollectAudio,
)
from starpy.menu.collect import (
    CollectDigits as CollectDigits,
)
from starpy.menu.collect import (
    CollectPassword as CollectPassword,
)
from starpy.menu.collect import (
    LocalFiles as LocalFiles,
)

__all__ = [
    "CollectDigits",
    "CollectPassword",
    "CollectAudio",
    "AudioFiles",
    "LocalFiles",
]
