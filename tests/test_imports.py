"""Imports point down only: no cycle among StarPy's modules, and every old
import path still works."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Dict, List, Set

import pytest
from twisted.internet import defer

ROOT = Path(__file__).resolve().parent.parent / "starpy"


def _moduleName(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _typeCheckingOnly(tree: ast.Module) -> Set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:`` (not run)."""
    skipped: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def _graph() -> Dict[str, Set[str]]:
    """Who imports whom, module-level and function-level imports alike."""
    modules = {_moduleName(path): path for path in ROOT.rglob("*.py")}
    graph: Dict[str, Set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = _typeCheckingOnly(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: List[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def test_noImportCycle() -> None:
    graph = _graph()
    cycles: List[List[str]] = []
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == []


@pytest.mark.parametrize("old, new", [
    ("starpy.cliami", "starpy.cli.ami"),
    ("starpy.cliserve", "starpy.cli.serve"),
    ("starpy.cliconfig", "starpy.cli.checkconfig"),
    ("starpy.clifake", "starpy.cli.fake"),
    ("starpy.demo", "starpy.cli.demo"),
    ("starpy.menucollect", "starpy.menu.collect"),
    ("starpy.menuprompt", "starpy.menu.prompt"),
])
def test_movedModulesStillImport(old: str, new: str) -> None:
    before, after = importlib.import_module(old), importlib.import_module(new)
    assert before.__all__ == after.__all__
    for name in after.__all__:
        assert getattr(before, name) is getattr(after, name)


#: The public names of starpy.testing.ami and starpy.testing.agi when each was
#: one module; both are packages now, and every name still imports from them.
TESTING_NAMES = {
    "starpy.testing.ami": [
        "ActionError", "FakeAMIServerFactory", "FakeAMIServerProtocol", "FakeAMIUser",
        "FakeChannel", "FakeParkedCall", "FakeQueue", "FakeQueueMember", "ListReply",
        "MemoryConnection", "Reply", "MemoryEndpoint", "connectInMemory", "loginInMemory",
        "DEFAULT_USERS", "log", "Headers", "Script"],
    "starpy.testing.agi": [
        "MAX_ARGUMENTS", "DEAD_SAFE_COMMANDS", "AGI_COMMANDS", "DEFAULT_SOUNDS", "Application",
        "Subroutine", "AstDB", "Recording", "SimulatedChannel", "TranscriptEntry", "Transcript",
        "FakeAGICaller", "FakeAGICallerFactory", "InMemoryCall", "parseAGIArguments",
        "agiBufferForVersion", "spacedDigits", "placeCall", "placeCallTCP", "placeCallInMemory",
        "log"],
}


@pytest.mark.parametrize("module", sorted(TESTING_NAMES))
def test_testingPackagesKeepTheirNames(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in TESTING_NAMES[module] if not hasattr(imported, name)]
    assert missing == []
    assert set(imported.__all__) <= set(TESTING_NAMES[module])


def test_testingModulesAreTheSizeOfOneIdea() -> None:
    long = [str(path.relative_to(ROOT)) for path in (ROOT / "testing").rglob("*.py")
            if len(path.read_text().splitlines()) > 600]
    assert long == []


def test_managerPackageKeepsEveryNameOfTheOldModule() -> None:
    import logging

    from starpy import manager

    for name in ("AMIProtocol", "AMIFactory", "AMIService", "EventList", "deferredErrorResp",
                 "Message", "DEFAULT_TIMEOUT", "DEFAULT_BOOT_TIMEOUT", "DEFAULT_LOGIN_TIMEOUT",
                 "log"):
        assert name in manager.__all__ and hasattr(manager, name), name
    assert manager.log is logging.getLogger("starpy.manager")
    assert manager.AMIFactory.protocol is manager.AMIProtocol
    assert issubclass(manager.deferredErrorResp, defer.Deferred)


def test_noPrivateNameOfTheManagerPackageIsImportedFromOutsideIt() -> None:
    # Annotations alone (under TYPE_CHECKING, never run) may name a class
    # where it is defined: amiactions does, for the API reference's sake.
    for path in ROOT.rglob("*.py"):
        if path.parent.name == "manager":
            continue
        tree = ast.parse(path.read_text())
        skipped = _typeCheckingOnly(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("starpy.manager._"), path
                if node.module == "starpy.manager":
                    assert all(not a.name.startswith("_") for a in node.names), path
