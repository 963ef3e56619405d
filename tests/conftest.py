"""The test harness: StarPy's own pytest plugin, which applications use too.

Every test here runs under :mod:`starpy.testing.pytest_plugin`: a test fails
when StarPy logs an error it did not expect (a ``starpy`` logger at ERROR, or
a Twisted failure such as "Unhandled error in Deferred"), and a test that
expects one takes it with the ``loggedErrors`` fixture::

    def test_brokenHandlerIsLogged(loggedErrors: LoggedErrors) -> None:
        ...  # make a handler raise RuntimeError("boom")
        [error] = loggedErrors.flush(RuntimeError)
        assert "boom" in error.text

See the plugin's documentation for the details.
"""
from __future__ import annotations

from typing import Any

pytest_plugins = ["starpy.testing.pytest_plugin"]


def __getattr__(name: str) -> Any:
    # Tests annotate with LoggedErrors; importing the plugin here, before
    # pytest loads it, would keep pytest from rewriting its asserts.
    if name in ("LoggedError", "LoggedErrors"):
        from starpy.testing import pytest_plugin

        return getattr(pytest_plugin, name)
    raise AttributeError(name)
