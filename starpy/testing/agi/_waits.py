"""What a running AGI command waits for (a sound playing, a digit, time
passing), how the wait ended, and the shape of a command handler.

A handler is ``handler(caller, argv)``: it replies and returns res_agi's
status (:data:`SUCCESS`, :data:`SHOWUSAGE`, :data:`FAILURE`, or an
application's result), or returns a generator that yields waits, receives
their :class:`Outcome`, and returns the status.

Private to :mod:`starpy.testing.agi`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Generator, Union

import attrs

from starpy.testing.agi._channel import ANY_DIGIT

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.agi._caller import FakeAGICaller

DEAD_CHANNEL = "511 Command Not Permitted on a dead channel or intercept routine"

# Handler return codes, as res_agi's (RESULT_SUCCESS/SHOWUSAGE/FAILURE).
SUCCESS = 0
SHOWUSAGE = 1
FAILURE = 2

# ---------------------------------------------------------------------------
# What a running command waits for


@attrs.frozen
class Play:
    """Play a sound from ``offset`` to ``total`` samples, stopping on one of
    ``stopDigits``."""

    total: int
    offset: int
    stopDigits: str
    watchControl: bool = True


@attrs.frozen
class WaitDigit:
    """Wait up to ``timeoutMs`` (negative: for ever) for one of ``digits``."""

    timeoutMs: int
    digits: str = ANY_DIGIT
    watchControl: bool = True


@attrs.frozen
class Sleep:
    """Let ``seconds`` pass (nothing interrupts)."""

    seconds: float


Wait = Union[Play, WaitDigit, Sleep]


@attrs.frozen
class Outcome:
    """How a wait ended: ``kind`` is ``done``, ``digit``, ``timeout``,
    ``hangup`` or ``control`` (the server sent data meanwhile)."""

    kind: str
    digit: str = ""
    position: int = 0
    elapsed: float = 0.0


CommandRun = Generator[Wait, Outcome, int]
Handler = Callable[["FakeAGICaller", list[str]], Union[int, CommandRun]]


@attrs.frozen
class Command:
    words: tuple[str, ...]
    handler: Handler
    deadSafe: bool

    @property
    def name(self) -> str:
        return " ".join(self.words)


