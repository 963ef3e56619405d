"""One naming style for tests, as for the code: ``test_camelCase`` (Twisted's)."""
from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_testNamesAreCamelCase() -> None:
    snake = []
    for path in sorted(HERE.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name.startswith("test_") and "_" in node.name[5:]):
                snake.append("%s:%s" % (path.name, node.name))
    assert snake == []


def test_typedDeclarationsMatchTheCatalogue() -> None:
    """Every named action of CATALOGUE is declared on AMIActions for mypy, and
    nothing else is declared that way (a renamed or removed action shows)."""
    from starpy.amiactions import CATALOGUE, AMIActions

    declared = {name for name, annotation in AMIActions.__annotations__.items()
                if "_NamedActionType" in str(annotation)}
    assert declared == {spec.method for spec in CATALOGUE}
    for spec in CATALOGUE:
        assert spec.method in vars(AMIActions), spec.method   # the descriptor is installed
