"""What the in-process drivers (``w1_driver.py``, ``w2_driver.py``,
``w3_driver.py``) share: where the reference harness is, and running a
workload with or without cProfile.  Not a script."""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, TypeVar

_T = TypeVar("_T")


def harnessFolder() -> str:
    """The reference harness: ``$STARPY_BENCH``, or ``shared/bench`` in the
    folder above the project root (the harness's README places it there)."""
    named = os.environ.get("STARPY_BENCH")
    if named:
        return named
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(os.path.dirname(root), "shared", "bench")


def useHarness(folder: str) -> None:
    """Make the modules of the harness's *folder* (``peers``, ``adapters``) importable."""
    sys.path.insert(0, os.path.join(harnessFolder(), folder))


def runMaybeProfiled(profile: bool, function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)``; with *profile*, under cProfile, then print the
    40 functions with the most own time."""
    if not profile:
        return function(*args)
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    result: _T = profiler.runcall(function, *args)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    return result
