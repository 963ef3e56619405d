#!/usr/bin/env python3
"""Run an Asterisk CLI command over AMI and print its output.

    python examples/amicommand.py [--host 127.0.0.1] [--port 5038] \\
        [--user starpy] [--secret-env AMI_SECRET] "core show channels"
    python examples/amicommand.py --fake "core show version"

Needs an AMI user in manager.conf with the ``command`` write class, e.g.::

    [starpy]
    secret = starpy-secret
    read = all
    write = all
    permit = 127.0.0.1/255.255.255.255

The secret is read from an environment variable (default ``AMI_SECRET``),
never from the command line.  ``--fake`` runs against StarPy's built-in fake
Asterisk instead (no Asterisk needed).  No dialplan is needed.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from twisted.internet import defer

from starpy import error, manager

from _run import runExample, secretFromEnvironment


async def command(reactor: Any, args: argparse.Namespace, secret: str) -> None:
    factory = manager.AMIFactory(args.user, secret, reactor=reactor)
    ami = await factory.login(args.host, args.port)
    try:
        for line in await ami.command(args.command):
            print(line)
    except error.AMICommandFailure as failure:
        print("command failed: %s" % failure.message, file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await ami.logoff()


async def real(reactor: Any, args: argparse.Namespace) -> None:
    await command(reactor, args, secretFromEnvironment(args.secret_env, args.user))


async def fake(reactor: Any, args: argparse.Namespace) -> None:
    from _fake import SECRET, startFakeAMI

    server, args.port = startFakeAMI(reactor)
    args.host = "127.0.0.1"
    try:
        await command(reactor, args, SECRET)
    finally:
        await defer.maybeDeferred(server.stopListening)


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("command", help="the CLI command, e.g. 'core show channels'")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--user", default="starpy")
    parser.add_argument("--secret-env", default="AMI_SECRET",
                        help="environment variable holding the AMI secret")


if __name__ == "__main__":
    runExample("Run an Asterisk CLI command over AMI.", fake, real, options)
