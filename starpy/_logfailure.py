"""One way to log a Twisted ``Failure`` with its traceback.

Inside an ``except`` block StarPy calls ``log.exception(...)``; for a
``Failure`` (a Deferred's errback) it calls :func:`logFailure`, which hands
the exception and its traceback to ``logging`` as ``exc_info``, so that
handlers, formatters and StarPy's test plugin see the exception itself and
not only its text.
"""
from __future__ import annotations

import logging

from twisted.python.failure import Failure

__all__ = ["logFailure"]


def logFailure(logger: logging.Logger, reason: Failure, message: str, *args: object) -> None:
    """Log *message* % *args* at ERROR on *logger*, with *reason*'s traceback."""
    value = reason.value
    if not isinstance(value, BaseException):  # pragma: no cover - a Failure always has one
        logger.error(message + ": %s", *args, reason.getErrorMessage())
        return
    logger.error(message, *args, exc_info=(type(value), value, reason.getTracebackObject()))
