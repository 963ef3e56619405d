"""One naming style for tests, as for the code: ``test_camelCase`` (Twisted's)."""
from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def test_testNamesAreCamelCase() -> None:
    snake = []
    for path in sorted(HERE.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name.startswith("test_") and "_" in node.name[5:]):
                snake.append("%s:%s" % (path.name, node.name))
    assert snake == []


def _expectedParameters(spec: Any) -> List[Tuple[str, Any, Any]]:
    """(name, kind, default) of the method *spec* makes, as Python would
    declare it: an optional parameter before a required one is required."""
    from starpy._actioncatalogue import REQUIRED as _REQUIRED
    from starpy._actioncatalogue import USE_DEFAULT

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    keyword = inspect.Parameter.KEYWORD_ONLY
    params: List[Tuple[str, Any, Any]] = [("self", positional, inspect.Parameter.empty)]
    for index, param in enumerate(spec.params):
        laterRequired = any(later.default is _REQUIRED for later in spec.params[index + 1:])
        default = (inspect.Parameter.empty if param.default is _REQUIRED or laterRequired
                   else param.default)
        params.append((param.name, positional, default))
    if not spec.hasParam("timeout"):
        params.append(("timeout", keyword, USE_DEFAULT))
    params.append(("actionTimeout", keyword, USE_DEFAULT))
    return params


def test_typedDeclarationsMatchTheCatalogue() -> None:
    """Every named action of CATALOGUE is declared with a typed signature for
    mypy, with the catalogue's parameters in its order and its defaults, and
    nothing else is declared that way (a renamed or removed action shows)."""
    from starpy._actionsignatures import ActionSignatures as _ActionSignatures
    from starpy.amiactions import CATALOGUE, AMIActions

    declared = {name for name, value in vars(_ActionSignatures).items()
                if inspect.isfunction(value)}
    assert declared == {spec.method for spec in CATALOGUE}
    for spec in CATALOGUE:
        assert spec.method in vars(AMIActions), spec.method   # the descriptor is installed
        signature = inspect.signature(getattr(_ActionSignatures, spec.method))
        shape = [(p.name, p.kind, p.default) for p in signature.parameters.values()]
        assert shape == _expectedParameters(spec), spec.method
        annotations = [p.annotation for p in signature.parameters.values()][1:]
        assert inspect.Parameter.empty not in annotations, spec.method
        returned = str(signature.return_annotation)
        assert returned == ("_Listing" if spec.isList else "_Reply"), spec.method


# Each line marked "error" is a call mypy must refuse; the others must pass.
_SNIPPET = """\
from twisted.internet.defer import Deferred

from starpy.codec.ami import Message
from starpy.manager import AMIProtocol, EventList


def use(ami: AMIProtocol) -> None:
    ami.hangup("PJSIP/1", cuase=16)  # error: Unexpected keyword argument "cuase"
    ami.dbPut("family", "key")  # error: Missing positional argument "value"
    ami.park(7)  # error: Argument 1 to "park"
    ami.coreShowChannels("x")  # error: Too many positional arguments
    ami.absoluteTimeout("PJSIP/1", 10, timeout=5)  # error: multiple values for keyword argument "timeout"
    ami.hangup("PJSIP/1", cause=16, timeout=5)
    ami.setVar(None, "GLOBAL", 1, actionTimeout=None)
    ami.status(variables=["A", "B"])
    ami.park("PJSIP/1", "PJSIP/2", timeout=45, actionTimeout=5)
    reply: Deferred[Message] = ami.ping()
    listing: Deferred[EventList] = ami.coreShowChannels()
    wrong: Deferred[EventList] = ami.ping()  # error: Incompatible types in assignment
"""


def test_mypyChecksTheArgumentsOfCatalogueMethods(tmp_path: Path) -> None:
    """The typed declarations are what mypy sees on AMIProtocol: a wrong
    keyword, a missing argument or a wrong type fails the type check.  The
    project's mypy settings and cache are used, so a warm run is quick."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(_SNIPPET)
    environment = dict(os.environ, MYPYPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--no-error-summary", "--hide-error-context", "--cache-dir", str(ROOT / ".mypy_cache"),
         str(snippet)],
        capture_output=True, text=True, env=environment, cwd=str(tmp_path), timeout=300)
    reported: Dict[int, List[str]] = {}
    for line in done.stdout.splitlines():
        match = re.match(r".*snippet\.py:(\d+): error: (.*)", line)
        if match:
            reported.setdefault(int(match.group(1)), []).append(match.group(2))
    expected = {number: text.split("# error: ", 1)[1]
                for number, text in enumerate(_SNIPPET.splitlines(), 1) if "# error: " in text}
    assert sorted(reported) == sorted(expected), done.stdout + done.stderr
    for number, text in expected.items():
        assert any(text in message for message in reported[number]), (number, reported[number])


#: The modules whose imports of private names this test polices.
_NO_PRIVATE_IMPORTS = ["starpy/menu", "starpy/cli", "starpy/codec", "starpy/amiactions.py",
                       "starpy/_actioncatalogue.py", "starpy/_actionsignatures.py",
                       "starpy/demo.py", "examples", "starpy/agi",
                       "starpy/classicagi.py", "starpy/asyncagi", "starpy/pool", "starpy/fastagi"] + [
    "starpy/%s.py" % name for name in (
        "channel", "channelobjects", "calls", "callqueues", "callrecords", "talking",
        "originate", "rebuild", "utilapplication", "dispatch", "eventfilter", "metrics",
        "appconfig")]


def test_noModuleImportsAnothersPrivateNames() -> None:
    """``from starpy.x import _name`` (or ``x._name`` on an imported starpy
    module) reaches into another module: a shared name gets a public one,
    in a private module if the package keeps it to itself."""
    files: List[Path] = []
    for place in _NO_PRIVATE_IMPORTS:
        path = ROOT / place
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    found = []
    for path in files:
        tree = ast.parse(path.read_text())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append("%s: from %s import %s" % (
                            path.relative_to(ROOT), node.module, alias.name))
                    elif (node.module or "").startswith("starpy"):
                        modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                modules.update(alias.asname or alias.name.split(".")[0] for alias in node.names
                               if alias.name.startswith("starpy"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                found.append("%s: %s.%s" % (path.relative_to(ROOT), node.value.id, node.attr))
    assert found == []


#: Modules allowed over the size of one idea: data tables, not logic.
_DATA_MODULES = {"starpy/testing/_amidata.py"}


def test_everyModuleIsTheSizeOfOneIdea() -> None:
    """No module of the package holds several ideas (issue 13): at most
    about 600 lines (650 allowed), data tables aside."""
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines())
             for path in sorted((ROOT / "starpy").rglob("*.py"))}
    over = {name: size for name, size in sizes.items()
            if size > 650 and name not in _DATA_MODULES}
    assert over == {}


#: Other libraries' private names StarPy must use, and why.
_FOREIGN_PRIVATE = {
    # argparse has no public way to find the sub-parser a stray argument
    # belongs to, nor to type the object add_subparsers() returns.
    ("starpy/cli/__init__.py", "parser._actions"),
    ("starpy/cli/__init__.py", "argparse._SubParsersAction"),
    # Twisted's TCP transport has no public way to tell whether its write
    # buffer is empty or the connection is being aborted (ARCHITECTURE.md,
    # "Protocols and Twisted's transports"); _idioms.directSocket refuses a
    # transport without them.
    ("starpy/_idioms.py", "transport._tempDataLen"),
    ("starpy/_idioms.py", "transport._aborting"),
}


def _ownNames(tree: ast.AST) -> Set[str]:
    """The names a module defines itself: functions, classes, assigned
    names and attributes, arguments, class attributes, slots, imports."""
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif (isinstance(node, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets)):
            names.update(c.value for c in ast.walk(node.value)
                         if isinstance(c, ast.Constant) and isinstance(c.value, str))
    return names


def test_noModuleUsesAnotherModulesPrivateAttributes() -> None:
    """``something._name`` in a module of starpy/ is a name that module
    defines itself: no module calls or reads another module's private
    methods or attributes (issue 13), whatever object it reaches them on."""
    found = []
    for path in sorted((ROOT / "starpy").rglob("*.py")):
        tree = ast.parse(path.read_text())
        own = _ownNames(tree)
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and node.attr not in own
                    and (where, ast.unparse(node)) not in _FOREIGN_PRIVATE):
                found.append("%s:%d: %s" % (where, node.lineno, ast.unparse(node)))
    assert found == []


def _imports(path: Path) -> List[str]:
    """The modules *path* imports (``from x import y`` counts as ``x`` and ``x.y``)."""
    names: List[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend("%s.%s" % (node.module, alias.name) for alias in node.names)
    return names


def test_onlyTheCommandLineAndTheDefaultLookupImportTheGlobalReactor() -> None:
    """ARCHITECTURE.md: below the command line the global reactor is only a
    default, looked up by ``_idioms.defaultReactor()``."""
    importing = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "starpy").rglob("*.py")
                       if "twisted.internet.reactor" in _imports(path))
    assert importing == ["starpy/_idioms.py", "starpy/cli/__init__.py"]


def test_theCodecsKnowNothingOfTwistedSocketsOrLogging() -> None:
    """ARCHITECTURE.md: ``starpy.codec`` imports the standard library (not
    sockets nor logging), its own modules and ``starpy.error``, nothing else."""
    found = []
    for path in sorted((ROOT / "starpy" / "codec").rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith(("starpy.codec", "starpy.error")) or top == "__future__":
                continue
            if top not in sys.stdlib_module_names or top in ("socket", "logging", "asyncio"):
                found.append("%s: %s" % (path.relative_to(ROOT), name))
    assert found == []


def test_theLibraryWritesToTransportsThroughItsTwoWriters() -> None:
    """ARCHITECTURE.md, "Protocols and Twisted's transports": the AMI
    client's batch and the direct sends hold only if every write goes
    through ``AMIProtocol._write`` or ``FastAGIProtocol._writeCommand``.
    Every ``write``-like call of starpy/ is listed, whatever its receiver
    is named; the command line's writes to its output streams and the
    fakes of starpy.testing (Asterisk's side) are left out."""
    writers = set()
    for path in sorted((ROOT / "starpy").rglob("*.py")):
        if "testing" in path.parts or "cli" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("write", "writeSequence", "writeSomeData",
                                           "getHandle", "send", "sendall")):
                writers.add("%s: %s" % (path.relative_to(ROOT), ast.unparse(node.func)))
    assert writers == {
        "starpy/_idioms.py: handle.send",
        "starpy/_idioms.py: transport.getHandle",
        "starpy/_idioms.py: transport.write",
        "starpy/fastagi/_protocol.py: self.transport.write",
        "starpy/manager/_protocol.py: transport.write",
    }
