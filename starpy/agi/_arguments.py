"""The arguments of AGI commands: times, escape digits, numbers, keyword
aliases, and the command lines made from them, kept for reuse.

Private to :mod:`starpy.agi`; :data:`Digits` is re-exported there.
"""
from __future__ import annotations

import functools
import math
import time as _time
from types import MethodType
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, TypeVar, Union, cast

from starpy.codec.agi import AGI_BUFFER_SMALL
from starpy.error import LocalProtocolError

__all__ = ["Digits", "DEFAULT_DATETIME_FORMAT", "keywordAliases", "toMilliseconds",
           "digitsArgument", "epochSeconds", "decimalArgument", "LINES", "LINES_KEPT",
           "FITS_EVERY_ASTERISK", "plainArguments", "replaceableOnInstances", "cachedLine"]

_F = TypeVar("_F", bound=Callable[..., Any])


def keywordAliases(**aliases: str) -> Callable[[_F], _F]:
    """Accept older keyword names: ``@keywordAliases(seconds="duration")``
    lets callers write ``seconds=`` for the parameter named ``duration``."""

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def call(*args: Any, **named: Any) -> Any:
            # The usual call, positional arguments only (with the GET VARIABLE
            # and DATABASE GET conversions made once, 898 to 891 M
            # instructions over 1,000 W3 sessions in bench/w3_driver.py).
            if not named:
                return function(*args)
            for old, new in aliases.items():
                if old in named:
                    if new in named:
                        raise TypeError("%s() got both %r and its alias %r"
                                        % (function.__name__, new, old))
                    named[new] = named.pop(old)
            return function(*args, **named)

        return cast(_F, call)

    return decorate


#: Escape digits: a string such as ``"0123456789*#"`` or a sequence of
#: digits (``[1, 2, "#"]``).
Digits = Union[str, Sequence[Union[str, int]], None]

#: Asterisk's default SAY DATETIME format, sent when only a zone is given.
DEFAULT_DATETIME_FORMAT = "ABdY 'digits/at' IMp"


class _Replaceable:
    """A method that an instance may replace, and whose class can tell so
    from two instance attributes: see :func:`replaceableOnInstances`."""

    def __init__(self, function: Callable[..., Any], direct: str, classFlag: str) -> None:
        functools.update_wrapper(self, function)  # type: ignore[arg-type]
        self.function = function
        self.direct = direct
        self.classFlag = classFlag
        self.store = "_%sReplacement" % (function.__name__,)

    def __get__(self, instance: Any, owner: Optional[type] = None) -> Any:
        if instance is None:
            return self.function
        replacement = getattr(instance, self.store, None)
        return MethodType(self.function, instance) if replacement is None else replacement

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(instance, self.store, value)
        setattr(instance, self.direct, False)

    def __delete__(self, instance: Any) -> None:
        setattr(instance, self.store, None)
        setattr(instance, self.direct, getattr(type(instance), self.classFlag))


def replaceableOnInstances(direct: str, classFlag: str) -> Callable[[_F], _F]:
    """A method that an instance may replace (``session.sendCommandLine =
    wrapper``, as :mod:`starpy.metrics` does), and whose class knows it
    without looking in the instance's ``__dict__`` on each call: the
    replacement is kept in the instance attribute ``_<name>Replacement``,
    and the instance attribute *direct* becomes false (deleting the
    replacement gives it the value of the class attribute *classFlag*).

    (Looking in ``__dict__`` makes CPython 3.11 build each instance's dict,
    and the attribute reads of the hot paths stop being specialised: 812
    to 745 M instructions over 1,000 reference W3 sessions in
    ``bench/w3_driver.py`` without it, bench/RESULTS.md.)
    """

    def decorate(function: _F) -> _F:
        return cast(_F, _Replaceable(function, direct, classFlag))

    return decorate


def toMilliseconds(seconds: float) -> int:
    """Float seconds to Asterisk's integer milliseconds; negative is -1.

    :raises ValueError: *seconds* is NaN or infinite (nothing is sent).
    """
    if seconds < 0:
        return -1
    milliseconds = seconds * 1000
    if not math.isfinite(milliseconds):
        raise LocalProtocolError("a time must be a finite number of seconds, not %r" % (seconds,))
    return int(round(milliseconds))


def digitsArgument(digits: Digits) -> str:
    """Escape digits as the one argument Asterisk takes (``[1, "#"]`` gives ``"1#"``)."""
    if digits is None:
        return ""
    if isinstance(digits, str):
        return digits
    return "".join(str(digit) for digit in digits)


def epochSeconds(value: Any) -> int:
    """A time (float seconds, datetime or struct_time) as integer epoch seconds.

    :raises ValueError: *value* is a NaN or infinite number of seconds.
    """
    if hasattr(value, "timestamp"):
        return int(value.timestamp())
    if isinstance(value, _time.struct_time):
        return int(_time.mktime(value))
    if isinstance(value, float) and not math.isfinite(value):
        raise LocalProtocolError("a time must be a finite number of seconds, not %r" % (value,))
    return int(value)


def decimalArgument(value: float) -> str:
    """A finite number as Asterisk reads it: ``2`` for 2.0, ``2.5``.

    :raises ValueError: *value* is NaN or infinite.
    """
    number = float(value)
    if not math.isfinite(number):
        raise LocalProtocolError("a number must be finite, not %r" % (value,))
    if number.is_integer():
        return str(int(number))
    return repr(number)


#: The command lines the command methods made, by ``(command, arguments)``,
#: with their bytes (see ``AGISession._command``): the same few lines
#: are sent over and over, and quoting and checking each again cost 9% of
#: a W3 command (1,000 reference sessions in ``bench/w3_driver.py``: 1,056
#: to 967 M instructions, bench/RESULTS.md).  Only lines of plain
#: arguments (``str`` and ``int``) whose bytes fit every Asterisk's command
#: buffer; emptied when full, so it never holds more than ``LINES_KEPT``.
LINES: Dict[Tuple[str, Tuple[Any, ...]], Tuple[str, bytes]] = {}
LINES_KEPT = 1024

#: ``LINES.get``, bound once: CPython 3.11 calls a method of a name another
#: module imports without its method-call path (742 to 731 M instructions
#: over 1,000 W3 sessions in bench/w3_driver.py with ``lineConversion``
#: alike, bench/RESULTS.md).
cachedLine = LINES.get

#: The longest command bytes (newline included) that every Asterisk reads
#: as one command (:func:`maxCommandBytes <starpy.codec.agi.maxCommandBytes>` is 2047 or 8191).
FITS_EVERY_ASTERISK = AGI_BUFFER_SMALL - 1


def plainArguments(arguments: Tuple[Any, ...]) -> bool:
    """Whether every argument is exactly a ``str`` or an ``int`` (not a
    bool nor a float, which are equal to ints and quoted otherwise)."""
    for argument in arguments:
        kind = argument.__class__
        if kind is not str and kind is not int:
            return False
    return True
