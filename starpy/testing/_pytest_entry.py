"""What installing StarPy registers with pytest (its ``pytest11`` entry point).

Only the ``starpy_plugin`` setting: with ``starpy_plugin = true`` in a
project's pytest configuration, :mod:`starpy.testing.pytest_plugin` (the
fixtures and the guard that fails a test on a logged error) is loaded.
Without it nothing else of StarPy is imported and no test run changes.
"""
from __future__ import annotations

import pytest

PLUGIN = "starpy.testing.pytest_plugin"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("starpy_plugin", type="bool", default=False,
                  help="load StarPy's pytest plugin (%s): fixtures for the fake Asterisk "
                       "and a test failure on each error StarPy logs" % (PLUGIN,))


def pytest_configure(config: pytest.Config) -> None:
    if config.getini("starpy_plugin") and not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
