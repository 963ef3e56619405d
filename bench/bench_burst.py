#!/usr/bin/env python3
"""FastAGI bursts while the same process parses an AMI firehose.

    .venv/bin/python bench/bench_burst.py [--calls 2000] [--burst 300] [--backlog 1024]
                                          [--give-up 2.0] [--events-rate 0]

What a StarPy application does (AMI and FastAGI in one reactor), under the
load that lost calls on a real Asterisk: this process logs in to an AMI
server that sends events without pause (a child process, ``--role
firehose``) and counts them with a catch-all handler, while it serves
FastAGI with ``listenFastAGI(..., backlog=--backlog)``.  A second child
(``--role caller``) plays Asterisk setting up ``--calls`` calls ``--burst``
at a time: it starts a burst's connections at once (non-blocking
connects), sends each environment block, answers the handler's commands
(ANSWER, VERBOSE, HANGUP) and starts the next burst when the last call of
this one is over.

Reported: how long the slowest connection waited to be accepted (the
caller puts the monotonic time of its ``connect()`` in ``agi_arg_1``; the
server notes the time it built the protocol, which is right after
``accept()``; both clocks are the system's CLOCK_MONOTONIC), the slowest
``connect()`` as the caller saw it, and the calls Asterisk would have
dropped: those whose connection was not accepted within ``--give-up``
seconds (Asterisk's ``MAX_AGI_CONNECT``, 2 s), plus any that failed.  The
events parsed meanwhile show the firehose kept the reactor busy.

Compare ``--backlog 50`` (the old default) with the default 1024.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

EVENT = (b"Event: Newstate\r\nPrivilege: call,all\r\nChannel: PJSIP/100-%08d\r\n"
         b"ChannelState: 6\r\nChannelStateDesc: Up\r\nCallerIDNum: 100\r\n"
         b"CallerIDName: Alice\r\nConnectedLineNum: 200\r\nConnectedLineName: Bob\r\n"
         b"Language: en\r\nAccountCode: \r\nContext: from-internal\r\nExten: 200\r\n"
         b"Priority: 1\r\nUniqueid: 1700000000.%d\r\nLinkedid: 1700000000.%d\r\n\r\n")

ENVIRONMENT = (
    "agi_network: yes\nagi_network_script: burst\nagi_request: agi://127.0.0.1/burst\n"
    "agi_channel: PJSIP/100-{n:08x}\nagi_language: en\nagi_type: PJSIP\n"
    "agi_uniqueid: 1700000000.{n}\nagi_version: 22.6.0\nagi_callerid: {n}\n"
    "agi_calleridname: Caller\nagi_context: from-internal\nagi_extension: 7000\n"
    "agi_priority: 1\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 1\n"
    "agi_arg_1: {started!r}\n\n")


# -- the AMI firehose (child process) ----------------------------------------------


def firehose(port: int, rate: float) -> None:
    """Serve one AMI client: banner, accept the login, then events until it goes."""
    server = socket.create_server(("127.0.0.1", port))
    print("LISTENING", flush=True)
    conn, _ = server.accept()
    conn.sendall(b"Asterisk Call Manager/9.0.0\r\n")
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(4096)
    actionID = b""
    for line in request.split(b"\r\n"):
        if line.lower().startswith(b"actionid:"):
            actionID = line.split(b":", 1)[1].strip()
    conn.sendall(b"Response: Success\r\nActionID: " + actionID
                 + b"\r\nMessage: Authentication accepted\r\n\r\n")
    chunk = b"".join(EVENT % (n, n, n) for n in range(200))  # about 80 KB
    pause = 200 / rate if rate > 0 else 0.0
    try:
        while True:
            conn.sendall(chunk)
            if pause:
                time.sleep(pause)
    except OSError:
        pass


# -- Asterisk setting up calls in bursts (child process) --------------------------


def caller(port: int, calls: int, burst: int, giveUp: float) -> None:
    selector = selectors.DefaultSelector()
    connectWaits: List[float] = []
    failed = 0
    started = 0
    while started < calls:
        size = min(burst, calls - started)
        opening: Dict[socket.socket, Dict[str, Any]] = {}
        for n in range(started, started + size):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            begun = time.monotonic()
            sock.connect_ex(("127.0.0.1", port))
            state = {"n": n, "begun": begun, "connected": False, "buffer": b""}
            opening[sock] = state
            selector.register(sock, selectors.EVENT_WRITE, state)
        started += size
        deadline = time.monotonic() + 60.0
        while opening and time.monotonic() < deadline:
            for key, _events in selector.select(timeout=1.0):
                sock = key.fileobj  # type: ignore[assignment]
                state = key.data
                if not state["connected"]:
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        failed += 1
                        selector.unregister(sock)
                        sock.close()
                        del opening[sock]
                        continue
                    state["connected"] = True
                    connectWaits.append(time.monotonic() - state["begun"])
                    sock.setblocking(True)
                    sock.sendall(ENVIRONMENT.format(n=state["n"], started=state["begun"])
                                 .encode())
                    sock.setblocking(False)
                    selector.modify(sock, selectors.EVENT_READ, state)
                    continue
                data = sock.recv(65536)
                if not data:
                    selector.unregister(sock)
                    sock.close()
                    del opening[sock]
                    continue
                state["buffer"] += data
                *lines, state["buffer"] = state["buffer"].split(b"\n")
                for line in lines:
                    sock.sendall(b"200 result=1\n" if line.startswith(b"HANGUP")
                                 else b"200 result=0\n")
        for sock in list(opening):
            failed += 1
            selector.unregister(sock)
            sock.close()
    connectWaits.sort()
    print("RESULT " + json.dumps({
        "connected": len(connectWaits), "failed": failed,
        "slowestConnect": connectWaits[-1] if connectWaits else None,
        "p99Connect": connectWaits[int(len(connectWaits) * 0.99) - 1] if connectWaits else None,
        "overGiveUp": sum(1 for wait in connectWaits if wait > giveUp)}), flush=True)


# -- the StarPy application (this process) -----------------------------------------


def freePort() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def application(args: argparse.Namespace) -> None:
    from twisted.internet import defer, reactor

    from starpy import fastagi, manager

    amiPort, agiPort = freePort(), freePort()
    hose = subprocess.Popen([sys.executable, __file__, "--role", "firehose", "--port",
                             str(amiPort), "--events-rate", str(args.events_rate)],
                            stdout=subprocess.PIPE, text=True)
    assert hose.stdout is not None
    hose.stdout.readline()
    acceptWaits: List[float] = []
    served = {"calls": 0, "events": 0, "eventsDuringCalls": 0}
    outcome: Dict[str, Any] = {}

    async def handler(agi: fastagi.FastAGIProtocol) -> None:
        acceptWaits.append(agi.acceptedAt - float(agi.arguments[0]))
        await agi.answer()
        await agi.verbose("burst", 1)
        await agi.hangup()
        served["calls"] += 1

    class Factory(fastagi.FastAGIFactory):
        def buildProtocol(self, addr: Any) -> Optional[fastagi.FastAGIProtocol]:
            agi = super().buildProtocol(addr)
            if agi is not None:
                agi.acceptedAt = time.monotonic()  # type: ignore[attr-defined]
            return agi

    def onEvent(ami: Any, event: Any) -> None:
        served["events"] += 1

    @defer.inlineCallbacks
    def run() -> Any:
        ami = yield manager.AMIFactory("bench", "bench").login("127.0.0.1", amiPort)
        ami.registerEvent(None, onEvent)
        yield fastagi.listenFastAGI(Factory(handler), agiPort, backlog=args.backlog,
                                    reactor=reactor)
        eventsBefore = served["events"]
        began = time.monotonic()
        callerProcess = yield deferToProcess(reactor, [
            sys.executable, __file__, "--role", "caller", "--port", str(agiPort),
            "--calls", str(args.calls), "--burst", str(args.burst),
            "--give-up", str(args.give_up)])
        outcome.update(callerProcess)
        outcome["seconds"] = time.monotonic() - began
        served["eventsDuringCalls"] = served["events"] - eventsBefore
        ami.transport.loseConnection()
        reactor.stop()

    def failed(reason: Any) -> None:
        outcome["error"] = reason.getErrorMessage()
        reactor.stop()

    reactor.callWhenRunning(lambda: run().addErrback(failed))
    reactor.run()
    hose.kill()
    hose.wait()
    acceptWaits.sort()
    print("FastAGI bursts: %d calls, %d at a time, backlog %d, while parsing an AMI firehose"
          % (args.calls, args.burst, args.backlog))
    if "error" in outcome:
        print("  failed: %s" % (outcome["error"],))
        sys.exit(1)
    print("  calls served %d in %.1f s; AMI events parsed meanwhile %d (%.0f/s)" % (
        served["calls"], outcome["seconds"], served["eventsDuringCalls"],
        served["eventsDuringCalls"] / outcome["seconds"]))
    if acceptWaits:
        print("  slowest wait to be accepted %.3f s (p99 %.3f s); slowest connect() %.3f s" % (
            acceptWaits[-1], acceptWaits[int(len(acceptWaits) * 0.99) - 1],
            outcome["slowestConnect"] or 0.0))
    late = sum(1 for wait in acceptWaits if wait > args.give_up)
    lost = late + outcome["failed"] + (args.calls - outcome["connected"])
    print("  calls Asterisk would have dropped (not accepted within %.1f s, or failed): %d"
          % (args.give_up, lost))


def deferToProcess(reactor: Any, argv: List[str]) -> Any:
    """Run *argv*; fire with the JSON of its ``RESULT`` line."""
    from twisted.internet import defer, protocol

    done: Any = defer.Deferred()

    class Reader(protocol.ProcessProtocol):
        output = b""

        def outReceived(self, data: bytes) -> None:
            self.output += data

        def processEnded(self, reason: Any) -> None:
            for line in self.output.decode().splitlines():
                if line.startswith("RESULT "):
                    done.callback(json.loads(line[7:]))
                    return
            done.errback(RuntimeError("caller gave no result: %r" % (self.output[-300:],)))

    reactor.spawnProcess(Reader(), argv[0], argv, env=os.environ)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("app", "firehose", "caller"), default="app")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--backlog", type=int, default=1024)
    parser.add_argument("--give-up", type=float, default=2.0,
                        help="seconds Asterisk waits for the connection (MAX_AGI_CONNECT)")
    parser.add_argument("--events-rate", type=float, default=0.0,
                        help="AMI events per second (0: as fast as they are read)")
    args = parser.parse_args()
    if args.role == "firehose":
        firehose(args.port, args.events_rate)
    elif args.role == "caller":
        caller(args.port, args.calls, args.burst, args.give_up)
    else:
        application(args)


if __name__ == "__main__":
    main()
