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
import logging
import os
import sys

from twisted.internet import defer, task

from starpy import error, manager


async def main(reactor: object, args: argparse.Namespace) -> None:
    port = None
    if args.fake:
        from starpy.testing.ami import FakeAMIServerFactory

        server = FakeAMIServerFactory(clock=reactor)
        port = server.listen(0, reactor=reactor)
        args.host, args.port = "127.0.0.1", port.getHost().port
        secret = "starpy-secret"
    else:
        secret = os.environ.get(args.secret_env, "")
    factory = manager.AMIFactory(args.user, secret, reactor=reactor)
    ami = await factory.login(args.host, args.port)
    try:
        for line in await ami.command(args.command):
            print(line)
    except error.AMICommandFailure as failure:
        print("command failed: %s" % failure.message, file=sys.stderr)
        raise SystemExit(1)
    finally:
        await ami.logoff()
        if port is not None:
            await defer.maybeDeferred(port.stopListening)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run an Asterisk CLI command over AMI.")
    parser.add_argument("command", help="the CLI command, e.g. 'core show channels'")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--user", default="starpy")
    parser.add_argument("--secret-env", default="AMI_SECRET",
                        help="environment variable holding the AMI secret")
    parser.add_argument("--fake", action="store_true", help="use the built-in fake Asterisk")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    task.react(lambda reactor: defer.ensureDeferred(main(reactor, arguments)))
