"""The README's runnable snippets run."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def section(title: str) -> str:
    start = README.index("## " + title)
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def pythonBlocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_ami_section_example_runs() -> None:
    (code,) = [b for b in pythonBlocks(section("AMI: the Asterisk Manager Interface"))
               if "task.react" in b]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "AMI 11.0.0"
    assert "Asterisk 22.10.1 built by" in lines[1]
    assert lines[2] == "hello"
    assert lines[3] == "0 CoreShowChannelsComplete"
    assert lines[4].startswith("hangup of Local/100@fastagi-")
    assert lines[5] == "refused: No such channel"


def test_readme_begins_with_the_two_commands() -> None:
    first = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert first == ["python3 dev.py demo", "python3 dev.py test"]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "python3 dev.py test"


def test_debugging_section_example_runs() -> None:
    (code,) = pythonBlocks(section("Debugging: wire traces and failure reports"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    log = done.stderr
    assert "starpy.wire DEBUG AGI#" in log and ">> ANSWER" in log and "<< 200 result=0" in log
    assert "starpy.fastagi ERROR AGI handler failed on PJSIP/caller-00000001" in log
    assert "AGIInvalidCommand" in log
    assert "  >> NO SUCH COMMAND\n  << 510 Invalid or unknown command" in log
