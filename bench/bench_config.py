"""Reading Asterisk configuration files: many templates and inheriting sections.

    .venv/bin/python bench/bench_config.py [--pairs 50000] [--repeat 3]

Builds a file of N template/section pairs (``[tN](!)`` with one entry, then
``[sN](tN)`` inheriting it, the shape of a large ``pjsip.conf``) and parses it
with :func:`starpy.config.parseConfig`, printing the CPU seconds of the parse
(best of ``--repeat``).  Each inheritance looks up its template by name, so
the parse should grow linearly with N.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starpy.config import parseConfig  # noqa: E402


def configText(pairs: int) -> str:
    """N template/section pairs, each section inheriting its template."""
    return "".join(
        "[t%d](!)\ncontext = from-%d\n[s%d](t%d)\nsecret = %d\n" % (i, i, i, i, i)
        for i in range(pairs)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=50000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = configText(args.pairs)
    best = float("inf")
    for _ in range(args.repeat):
        started = time.process_time()
        config = parseConfig(text)
        best = min(best, time.process_time() - started)
        assert len(config) == args.pairs
    print("%d template/section pairs (%d lines): parsed in %.3f s CPU (best of %d)"
          % (args.pairs, text.count("\n"), best, args.repeat))


if __name__ == "__main__":
    main()
