"""Checks of menu model fields, and keys: shared by the modules of
:mod:`starpy.menu`, private to the package.

Each check raises :class:`MenuDefinitionError <starpy.error.MenuDefinitionError>`
naming the field.
"""
from __future__ import annotations

from typing import Optional

from starpy import error
from starpy.agi import digitChar

#: Every key a telephone keypad can send (A-D exist on some keypads).
DTMF_KEYS = "0123456789*#ABCD"


def keyPressed(code: int) -> Optional[str]:
    """A digit code from an AGI command (see :func:`digitChar <starpy.agi.digitChar>`)
    as the key pressed, or ``None`` for ``0``."""
    return digitChar(code) or None


def checkText(value: object, field: str, allowEmpty: bool = False) -> None:
    if not isinstance(value, str):
        raise error.MenuDefinitionError("must be a string, not %r" % (value,), field)
    if not value and not allowEmpty:
        raise error.MenuDefinitionError("must not be empty", field)


def checkSeconds(value: object, field: str, allowZero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error.MenuDefinitionError("must be a number of seconds, not %r" % (value,), field)
    if value != value or value in (float("inf"), float("-inf")):
        raise error.MenuDefinitionError("must be a finite number of seconds, not %r" % (value,),
                                        field)
    if value < 0 or (value == 0 and not allowZero):
        raise error.MenuDefinitionError(
            "must be %s seconds, not %r" % ("0 or more" if allowZero else "more than 0", value),
            field)


def checkKeys(value: object, field: str) -> None:
    checkText(value, field)
    assert isinstance(value, str)
    bad = [char for char in value if char not in DTMF_KEYS]
    if bad:
        raise error.MenuDefinitionError(
            "%r holds %r, which is not a telephone key (%s)" % (value, bad[0], DTMF_KEYS), field)


def checkCount(value: object, field: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise error.MenuDefinitionError("must be an integer, not %r" % (value,), field)
    if value < minimum:
        raise error.MenuDefinitionError("must be %d or more, not %d" % (minimum, value), field)


def checkBool(value: object, field: str) -> None:
    if not isinstance(value, bool):
        raise error.MenuDefinitionError("must be true or false, not %r" % (value,), field)


def checkTextPrompt(value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise error.MenuDefinitionError("must be a string or None, not %r" % (value,),
                                        "textPrompt")


def checkCallable(value: object, field: str) -> None:
    if value is not None and not callable(value):
        raise error.MenuDefinitionError("must be callable or None, not %r" % (value,), field)
