"""StarPy's pytest plugin for applications' tests, and its opt-in entry point.

Each test runs a small test project in a separate pytest process, as a user's
project would run.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


def readmeExample() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Testing your application with pytest")
    section = readme[start:readme.index("\n## ", start + 1)]
    codes: list[str] = re.findall(r"```python\n(.*?)```", section, re.S)
    (code,) = codes
    return code


def outcomes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
             *args: str) -> Dict[str, str]:
    """Run the project in a subprocess; each test's outcome by name."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    # Whether or not this environment has StarPy's entry point installed (a
    # build leaves starpy.egg-info in the checkout), the inner run loads only
    # the entry point's module, explicitly, as an installed StarPy would.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider",
                                           "-p", "starpy.testing._pytest_entry", *args)
    found: Dict[str, str] = {}
    for line in result.outlines:
        words = line.split()
        if len(words) >= 2 and words[0] in ("PASSED", "FAILED", "ERROR") and "::" in words[1]:
            found[words[1].split("::")[-1]] = words[0]
    return found


def test_theReadmeExamplePassesWithThePlugin(pytester: pytest.Pytester,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeconftest('pytest_plugins = ["starpy.testing.pytest_plugin"]\n')
    pytester.makepyfile(test_app=readmeExample())
    assert outcomes(pytester, monkeypatch) == {
        "test_the_ivr_records_the_key": "PASSED",
        "test_the_ivr_when_no_key_comes": "PASSED",
        "test_hangups_are_seen": "PASSED",
        "test_a_broken_handler_is_caught": "PASSED",
    }


def test_anErrorTheTestDoesNotTakeFailsIt(pytester: pytest.Pytester,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    code = readmeExample().replace(
        "    [logged] = loggedErrors.flush(ZeroDivisionError)", "    pass")
    pytester.makeconftest('pytest_plugins = ["starpy.testing.pytest_plugin"]\n')
    pytester.makepyfile(test_app=code)
    assert outcomes(pytester, monkeypatch)["test_a_broken_handler_is_caught"] == "FAILED"


def test_theSettingLoadsThePlugin(pytester: pytest.Pytester,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\nstarpy_plugin = true\n")
    pytester.makepyfile(test_app=readmeExample())
    assert set(outcomes(pytester, monkeypatch).values()) == {"PASSED"}


def test_installingStarpyChangesNothingUntilAsked(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the entry point is there: no fixtures, no guard."""
    pytester.makepyfile(test_app='''
from twisted.internet import defer
import sys


def test_no_guard():
    defer.fail(ValueError("nobody handles me"))   # the guard would fail this test


def test_nothing_imported():
    assert "starpy.testing.pytest_plugin" not in sys.modules


def test_no_fixture(fakeAMI):
    pass
''')
    assert outcomes(pytester, monkeypatch) == {
        "test_no_guard": "PASSED",
        "test_nothing_imported": "PASSED",
        "test_no_fixture": "ERROR",
    }
