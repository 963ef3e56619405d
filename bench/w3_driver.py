"""The reference W3 FastAGI workload driven in process, for counting work.

The reference harness (``../shared/bench/run.py --workloads w3_fastagi``)
measures CPU seconds over TCP, which on a shared 2-core machine moves by
several percent from run to run.  This driver runs the same sessions with
no sockets: the handler of ``../shared/bench/adapters/project_fastagi.py``
(10 commands through the public API, sequenced with ``inlineCallbacks``),
the same 25-line environment and the same replies as the fake Asterisk
(``peers/fake_agi.py``), 50 sessions open at once, each fed its reply in a
later ``dataReceived`` call (as the reactor would).  ``--lib floor`` runs
``limit_twisted``'s FastAGI protocol on the same transport instead, and
``--lib minimal`` the same handler on a protocol that does nothing but
write each command and fire a Deferred with its reply's value: what any
library with a Deferred per command costs at least.

Count instructions with callgrind, subtracting a run without sessions::

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python bench/w3_driver.py --sessions 1000
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg0.%p \\
        .venv/bin/python bench/w3_driver.py --sessions 0

or see where the time goes with ``--profile`` (cProfile, sorted by own time).
``--answers N`` replaces the handler by one that sends N ``ANSWER``
commands: runs with 1 and 11 give the cost of a session and of a command
apart (``--lib project`` and ``--lib minimal``).
``--lib floor`` imports the floor's adapter from ``../shared/bench/adapters``
beside the project root, or from ``$STARPY_BENCH/adapters``.
"""
from __future__ import annotations

import argparse
from collections import deque
from typing import Any, Deque, List, Optional

import minimal_fastagi
from _harness import runMaybeProfiled, useHarness
from twisted.internet import defer
from twisted.internet.protocol import connectionDone

ENV = (
    "agi_network: yes\n"
    "agi_network_script: bench\n"
    "agi_request: agi://127.0.0.1:4573/bench\n"
    "agi_channel: PJSIP/{cid}-{seq:08x}\n"
    "agi_language: en\n"
    "agi_type: PJSIP\n"
    "agi_uniqueid: 1700000000.{seq}\n"
    "agi_version: 18.20.2\n"
    "agi_callerid: {cid}\n"
    "agi_calleridname: Caller {cid}\n"
    "agi_callingpres: 0\n"
    "agi_callingani2: 0\n"
    "agi_callington: 0\n"
    "agi_callingtns: 0\n"
    "agi_dnid: 7000\n"
    "agi_rdnis: unknown\n"
    "agi_context: from-internal\n"
    "agi_extension: 7000\n"
    "agi_priority: 2\n"
    "agi_enhanced: 0.0\n"
    "agi_accountcode: \n"
    "agi_threadid: 1401234{seq:05d}\n"
    "agi_arg_1: bench\n"
    "agi_arg_2: {seq}\n"
    "agi_arg_3: \n"
    "\n")

REPLIES = [
    (b"ANSWER", b"200 result=0\n"),
    (b"GET VARIABLE", None),  # 200 result=1 (<callerid>)
    (b"STREAM FILE", b"200 result=0 endpos=24000\n"),
    (b"SAY DIGITS", b"200 result=0\n"),
    (b"WAIT FOR DIGIT", b"200 result=49\n"),
    (b"SET VARIABLE", b"200 result=1\n"),
    (b"DATABASE GET", None),  # 200 result=1 (db-<callerid>)
    (b"EXEC", b"200 result=0\n"),
    (b"VERBOSE", b"200 result=1\n"),
    (b"HANGUP", b"200 result=1\n"),
]


class Transport:
    """Just enough of a TCP transport: what is written waits in ``out``."""

    disconnecting = False

    def __init__(self, peer: "Peer") -> None:
        self.peer = peer
        self.out: List[bytes] = []

    def write(self, data: bytes) -> None:
        if not self.out:
            self.peer.ready.append(self.peer)
        self.out.append(data)

    def writeSequence(self, data: List[bytes]) -> None:
        for chunk in data:
            self.write(chunk)

    def loseConnection(self) -> None:
        if not self.disconnecting:
            self.disconnecting = True
            self.peer.ready.append(self.peer)

    abortConnection = loseConnection

    def setTcpKeepAlive(self, enabled: bool) -> None:
        pass

    def getPeer(self) -> Any:
        return None

    getHost = getPeer


class Peer:
    """One fake Asterisk call: sends the environment, answers each command."""

    def __init__(self, seq: int, protocol: Any, ready: Deque["Peer"]) -> None:
        self.seq = seq
        self.cid = str(200000 + seq).encode()
        self.protocol = protocol
        self.ready = ready
        self.step = 0
        self.closed = False
        self.transport = Transport(self)
        protocol.makeConnection(self.transport)
        protocol.dataReceived(ENV.format(cid=self.cid.decode(), seq=seq).encode())

    def run(self) -> bool:
        """Answer what was written; return whether the call is over."""
        out, self.transport.out = self.transport.out, []
        replies = []
        for line in b"".join(out).split(b"\n")[:-1]:
            verb, reply = REPLIES[self.step] if ANSWERS is None else (b"ANSWER", b"200 result=0\n")
            if not line.startswith(verb):
                raise AssertionError("command %d: %r, expected %r" % (self.step, line, verb))
            if reply is None:
                reply = b"200 result=1 (" + (b"db-" if self.step == 6 else b"") + self.cid + b")\n"
            replies.append(reply)
            self.step += 1
        if replies:
            self.protocol.dataReceived(b"".join(replies))
        if self.step == len(REPLIES) and ANSWERS is None or self.transport.disconnecting:
            if not self.closed:
                self.closed = True
                self.transport.disconnecting = True
                self.protocol.connectionLost(connectionDone)
                # As Twisted's TCP transport forgets its protocol: no cycle
                # left for the garbage collector.
                self.transport.peer = None
            return True
        return False


def referenceHandler(done: List[int], bad: List[str]) -> Any:
    """The reference adapter's handler (``minimal_fastagi.referenceHandler``),
    or, with ``--answers N``, N ANSWERs; *done* counts the calls ended."""
    def ended() -> None:
        done[0] += 1

    if ANSWERS is None:
        return minimal_fastagi.referenceHandler(lambda: None, bad.append, ended)

    @defer.inlineCallbacks
    def answers(agi: Any) -> Any:
        for _ in range(ANSWERS or 0):
            yield agi.answer()
        agi.finish()
        ended()

    return answers


def projectFactory(done: List[int], bad: List[str]) -> Any:
    from starpy import fastagi

    return fastagi.FastAGIFactory(referenceHandler(done, bad))


def minimalFactory(done: List[int], bad: List[str]) -> Any:
    """What any Deferred-per-command library costs at least: the same handler
    on ``minimal_fastagi.Minimal``, a protocol that writes each command and
    fires a Deferred with the reply's value, nothing else (no checks, no
    queue, no history)."""
    return minimal_fastagi.MinimalFactory(referenceHandler(done, bad))


def floorFactory(done: List[int], bad: List[str]) -> Any:
    useHarness("adapters")
    import limit_twisted_fastagi as floor

    class App(floor.App):
        def session_started(self) -> None:
            pass

        def session_done(self) -> None:
            done[0] += 1

        def bad(self, msg: str) -> None:
            bad.append(msg)

    return App(None)


def run(lib: str, sessions: int, concurrency: int) -> None:
    done = [0]
    bad: List[str] = []
    factory = FACTORIES[lib](done, bad)
    ready: Deque[Peer] = deque()
    started = 0
    open_ = 0
    while started < sessions and open_ < concurrency:
        Peer(started, factory.buildProtocol(None), ready)
        started += 1
        open_ += 1
    while ready:
        peer = ready.popleft()
        if peer.closed:
            continue
        if peer.run():
            open_ -= 1
            if started < sessions:
                Peer(started, factory.buildProtocol(None), ready)
                started += 1
                open_ += 1
    if done[0] != sessions or bad:
        raise SystemExit("%d of %d sessions done, wrong: %r" % (done[0], sessions, bad[:5]))


#: With ``--answers N``, each session's handler sends N ANSWER commands
#: instead of the reference ten: the per-session and per-command costs apart.
ANSWERS: Optional[int] = None

FACTORIES = {"project": projectFactory, "minimal": minimalFactory, "floor": floorFactory}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", choices=sorted(FACTORIES), default="project")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--answers", type=int, default=None,
                        help="each handler sends this many ANSWERs instead (not --lib floor)")
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args(argv)
    global ANSWERS
    ANSWERS = options.answers
    # Import everything first, so that a run without sessions counts it.
    from twisted.internet import reactor  # noqa: F401 (imported by the first session)

    FACTORIES[options.lib]([0], [])
    runMaybeProfiled(options.profile, run, options.lib, options.sessions, options.concurrency)


if __name__ == "__main__":
    main()
