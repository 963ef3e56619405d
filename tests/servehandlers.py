"""Handlers that tests serve with ``starpy serve`` (``tests.servehandlers:X``)."""
from __future__ import annotations

import os
from typing import Any


async def hello(agi: Any) -> None:
    """Tell which process served the call and which handler ran."""
    await agi.setVariable("SERVED", "hello %d" % (os.getpid(),))


async def other(agi: Any) -> None:
    """A second handler, to check routing."""
    await agi.setVariable("SERVED", "other %d" % (os.getpid(),))


def blockingPid(agi: Any) -> None:
    """Write ``PID <pid>`` on the raw socket, then block this whole process
    until the caller sends a line: meanwhile only another worker can accept
    a connection.  (Bypasses the AGI protocol on purpose.)"""
    sock = agi.transport.getHandle()
    sock.setblocking(True)
    try:
        sock.sendall(b"PID %d\n" % (os.getpid(),))
        sock.recv(100)
    finally:
        sock.setblocking(False)
    agi.finish()
