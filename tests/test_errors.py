"""Every exception StarPy defines lives in starpy.error; the old homes still export them."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import starpy
from starpy import error

#: Where each error was first defined, and is still importable from.
OLD_HOMES = [
    ("starpy.codec.ami", "AMICodecError"),
    ("starpy.channel", "ChannelHungUp"),
    ("starpy.channel", "TrackerStopped"),
    ("starpy.originate", "OriginateFailed"),
    ("starpy.appconfig", "StarpyConfigError"),
    ("starpy.utilapplication", "StarpyConfigError"),
    ("starpy.utilapplication", "CallWaitTimeout"),
    ("starpy.cliami", "CommandError"),
    ("starpy.cli.ami", "CommandError"),
    ("starpy.pool", "NoServerReady"),
    ("starpy.asyncagi", "AsyncAGIRejected"),
]


def _modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(starpy.__path__, "starpy.")]
    # The fakes' scripting exceptions (testing.ami.ActionError) belong to the
    # test API; metrics needs its optional extra.
    return [n for n in names if not n.startswith("starpy.testing") and n != "starpy.__main__"]


def test_everyExceptionIsDefinedInError() -> None:
    strays = []
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == name and name != "starpy.error"):
                strays.append("%s.%s" % (name, value.__name__))
    assert strays == []


def test_everyStarpyErrorDerivesFromStarpyError() -> None:
    for name in error.__all__:
        value = getattr(error, name)
        if inspect.isclass(value):
            assert issubclass(value, error.StarpyError), name


@pytest.mark.parametrize("module, name", OLD_HOMES)
def test_oldImportPathsStillWork(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(error, name)
