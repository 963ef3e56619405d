"""The scripts of ``bench/`` still run against the code they measure.

Each is run at its smallest size in a child process, as its docstring runs
it: every one checks its own work (the events handled, the Pings answered,
the sessions served) and exits with a message otherwise, so a script that
no longer fits the API fails here, not on the next engineer's benchmark
day.  The ones that need the reference harness (``../shared/bench``, or
``$STARPY_BENCH``) for its fake peers or its helpers are skipped without
it; the figures themselves are in ``bench/RESULTS.md``, never measured here.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def harness() -> Optional[Path]:
    """The reference harness's folder, or ``None`` where it is absent."""
    named = os.environ.get("STARPY_BENCH")
    folder = Path(named) if named else ROOT.parent / "shared" / "bench"
    return folder if (folder / "adapters" / "_common.py").is_file() else None


def childEnvironment(*paths: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [str(path) for path in paths])
    return env


def runScript(arguments: List[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *arguments], cwd=ROOT, env=childEnvironment(),
                          capture_output=True, text=True, timeout=120)


ALONE = {
    "w3 project": ["bench/w3_driver.py", "--sessions", "20"],
    "w3 project, answers": ["bench/w3_driver.py", "--sessions", "20", "--answers", "3"],
    "w3 minimal": ["bench/w3_driver.py", "--sessions", "20", "--lib", "minimal"],
    "w2 ping": ["bench/w2_driver.py", "--workload", "ping", "-n", "200", "-c", "10"],
    "ami soak": ["bench/bench_ami_soak.py", "--events", "2000", "--scaling-events", "200"],
    "config": ["bench/bench_config.py", "--pairs", "5", "--repeat", "1"],
    "fastagi soak": ["bench/bench_fastagi_soak.py", "--sessions", "50", "--concurrency", "5"],
    "filter": ["bench/bench_filter.py", "--events", "500", "--repeat", "1"],
    "burst": ["bench/bench_burst.py", "--calls", "20", "--burst", "10"],
}

WITH_HARNESS = {
    "w1": ["bench/w1_driver.py", "--events", "300"],
    "w2 events": ["bench/w2_driver.py", "--workload", "events", "-n", "300"],
    "w2 events, floor": ["bench/w2_driver.py", "--workload", "events", "-n", "300",
                         "--lib", "floor"],
    "w2 ping, floor": ["bench/w2_driver.py", "--workload", "ping", "-n", "200", "-c", "10",
                       "--lib", "floor"],
    "w3 floor": ["bench/w3_driver.py", "--sessions", "20", "--lib", "floor"],
}


def test_everyScriptOfBenchIsRunHere() -> None:
    listed = {arguments[0] for arguments in [*ALONE.values(), *WITH_HARNESS.values()]}
    # (_harness.py is the drivers' shared module, not a script.)
    scripts = {"bench/%s" % path.name for path in BENCH.glob("*.py") if path.name[0] != "_"}
    # minimal_fastagi.py is an adapter of the harness: the test below runs it there.
    assert scripts - listed == {"bench/minimal_fastagi.py"}


@pytest.mark.parametrize("name", sorted(ALONE))
def test_scriptRuns(name: str) -> None:
    done = runScript(ALONE[name])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(WITH_HARNESS))
def test_scriptRunsBesideTheHarness(name: str) -> None:
    if harness() is None:
        pytest.skip("the reference harness (../shared/bench) is not here")
    done = runScript(WITH_HARNESS[name])
    assert done.returncode == 0, done.stdout + done.stderr


def freePort() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_minimalAdapterServesTheHarnessPeer() -> None:
    folder = harness()
    if folder is None:
        pytest.skip("the reference harness (../shared/bench) is not here")
    port = freePort()
    env = childEnvironment(folder / "adapters")
    env.update({"BENCH_HOST": "127.0.0.1", "BENCH_PORT": str(port), "BENCH_WORKLOAD": "fastagi",
                "BENCH_N": "20", "BENCH_CONCURRENCY": "5", "BENCH_TIMEOUT": "60"})
    adapter = subprocess.Popen([sys.executable, str(BENCH / "minimal_fastagi.py")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert adapter.stdout is not None
        first = adapter.stdout.readline()  # the adapter says READY once it listens
        assert first.startswith("READY"), first + (adapter.stderr.read() if adapter.stderr else "")
        started = time.monotonic()
        subprocess.run([sys.executable, str(folder / "peers" / "fake_agi.py"), "--host",
                        "127.0.0.1", "--port", str(port), "--sessions", "20", "--concurrency",
                        "5", "--script", "bench", "--timeout", "60"],
                       env=childEnvironment(), capture_output=True, timeout=90, check=True)
        output, errors = adapter.communicate(timeout=max(1.0, 90 - (time.monotonic() - started)))
    finally:
        if adapter.poll() is None:
            adapter.kill()
            adapter.communicate()
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, output + errors
    result = json.loads(lines[0][len("RESULT "):])
    assert result["count"] == 20 and result["errors"] == [] and result["bad"] == 0, result
