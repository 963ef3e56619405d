"""The C helpers of Asterisk the fakes model, each written once: ``sscanf``'s
``%d`` and ``%lf``, ``atoi``, and ``ast_true``/``ast_false``.

Only ASCII digits and C's ``isspace`` blanks count (Python's ``\\d`` and
``\\s`` would take other scripts' digits and spaces, which C never reads).

Private to :mod:`starpy.testing`: the AMI and the AGI fakes import it.
"""
from __future__ import annotations

import re
from typing import Optional

__all__ = ["scanInt", "atoi", "scanFloat", "isTrue", "isFalse"]

_C_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_C_FLOAT = re.compile(
    r"[ \t\n\v\f\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_TRUE = frozenset(("yes", "true", "y", "t", "1", "on"))
_FALSE = frozenset(("no", "false", "n", "f", "0", "off"))


def scanInt(text: str) -> Optional[int]:
    """``sscanf(text, "%d")``: the leading integer, kept within C's 32-bit
    ``int``, or ``None``."""
    match = _C_INT.match(text)
    if match is None:
        return None
    return max(-(2**31), min(2**31 - 1, int(match.group(1))))


def atoi(text: str) -> int:
    """``atoi(text)``: the leading integer, or 0."""
    value = scanInt(text)
    return 0 if value is None else value


def scanFloat(text: str) -> Optional[float]:
    """``sscanf(text, "%lf")``: the leading number, or ``None``."""
    match = _C_FLOAT.match(text)
    return None if match is None else float(match.group(1))


def isTrue(value: Optional[str]) -> bool:
    """``ast_true(value)``: yes, true, y, t, 1 or on, in any case."""
    return value is not None and value.strip().lower() in _TRUE


def isFalse(value: Optional[str]) -> bool:
    """``ast_false(value)``: no, false, n, f, 0 or off, in any case."""
    return value is not None and value.strip().lower() in _FALSE
