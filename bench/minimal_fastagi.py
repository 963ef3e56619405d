"""What W3 costs at least with a Deferred per command: an adapter for the
reference harness (``../shared/bench``), not a library.

The reference W3 adapter of this project (``adapters/project_fastagi.py``
there) drives each call with ``inlineCallbacks``, one Deferred per command.
This adapter runs the same handler, the same ten commands and the same
checks, over the smallest protocol that gives such Deferreds: it writes
each command's bytes and fires the Deferred with its reply's value, with no
queue, no history, no checks of what is sent or received, no timeouts.
Its CPU time beside ``limit_twisted``'s shows how much of the W3 target is
left for everything a library does (bench/RESULTS.md, "W3, fifth round").

The harness finds adapters only in its own ``adapters/`` folder, which is
not this project's: run it from a copy, from the project root::

    cp -r ../shared/bench /tmp/harness
    cp bench/minimal_fastagi.py /tmp/harness/adapters/
    /tmp/benchvenv/bin/python /tmp/harness/run.py --reps 5 --workloads w3_fastagi \\
        --libs project,minimal,limit_twisted --path project=$PWD

``bench/w3_driver.py`` runs :func:`referenceHandler` on StarPy and on
:class:`Minimal` in process (``--lib project``, ``--lib minimal``).
"""
from typing import Any, Callable, Dict, Optional

from twisted.internet import defer, reactor
from twisted.internet.protocol import Factory, Protocol


class Minimal(Protocol):
    """One call: the environment, then one Deferred per command line."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.variables: Optional[Dict[str, str]] = None
        self.waiting: Optional[defer.Deferred[Any]] = None

    def dataReceived(self, data: bytes) -> None:
        if self.variables is None:  # the environment block, in one chunk
            variables = {}
            for line in data.decode().split("\n"):
                key, _, value = line.partition(": ")
                variables[key] = value
            self.variables = variables
            self.handler(self)
            return
        value = data[:-1].decode()[11:]  # "200 result=" cut off
        waiting, self.waiting = self.waiting, None
        assert waiting is not None
        if value[:3] == "1 (":
            waiting.callback(value[3:-1])
        else:
            waiting.callback(int(value.partition(" ")[0]))

    def send(self, line: str) -> "defer.Deferred[Any]":
        self.waiting = waiting = defer.Deferred()
        self.transport.write(line.encode() + b"\n")  # type: ignore[union-attr]
        return waiting

    def answer(self) -> "defer.Deferred[Any]":
        return self.send("ANSWER")

    def getVariable(self, name: str) -> "defer.Deferred[Any]":
        return self.send("GET VARIABLE " + name)

    def streamFile(self, name: str, digits: str) -> "defer.Deferred[Any]":
        return self.send('STREAM FILE %s "%s"' % (name, digits))

    def sayDigits(self, number: int) -> "defer.Deferred[Any]":
        return self.send('SAY DIGITS %d ""' % (number,))

    def waitForDigit(self, timeout: float) -> "defer.Deferred[Any]":
        return self.send("WAIT FOR DIGIT %d" % (timeout * 1000,))

    def setVariable(self, name: str, value: str) -> "defer.Deferred[Any]":
        return self.send("SET VARIABLE %s %s" % (name, value))

    def databaseGet(self, family: str, key: str) -> "defer.Deferred[Any]":
        return self.send("DATABASE GET %s %s" % (family, key))

    def execute(self, application: str, options: str) -> "defer.Deferred[Any]":
        return self.send("EXEC %s %s" % (application, options))

    def verbose(self, message: str, level: int) -> "defer.Deferred[Any]":
        return self.send('VERBOSE "%s" %d' % (message, level))

    def hangup(self) -> "defer.Deferred[Any]":
        return self.send("HANGUP")

    def finish(self) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]


class MinimalFactory(Factory):
    """A :class:`Minimal` per connection, each running *handler*."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    def buildProtocol(self, addr: Any) -> Minimal:
        return Minimal(self.handler)


def referenceHandler(started: Callable[[], object], bad: Callable[[str], object],
                     ended: Callable[[], object]) -> Callable[[Any], Any]:
    """The handler of the harness's ``adapters/project_fastagi.py``, command
    for command: *started* at each call, *bad* told of each wrong value,
    *ended* once the call is finished."""

    @defer.inlineCallbacks
    def call(agi: Any) -> Any:
        started()
        cid = agi.variables["agi_callerid"]
        try:
            yield agi.answer()
            num = yield agi.getVariable("CALLERID(num)")
            yield agi.streamFile("hello-world", "")
            yield agi.sayDigits(1234)
            digit = yield agi.waitForDigit(1)
            yield agi.setVariable("FOO", "bar")
            value = yield agi.databaseGet("fam", "key")
            yield agi.execute("Playback", "beep")
            yield agi.verbose("hi", 1)
            yield agi.hangup()
            if num != cid:
                bad("session %s: GET VARIABLE gave %r" % (cid, num))
            elif value != "db-" + cid:
                bad("session %s: DATABASE GET gave %r" % (cid, value))
            elif digit not in (49, "1"):
                bad("session %s: WAIT FOR DIGIT gave %r" % (cid, digit))
        except Exception as e:  # report, don't hang the run
            bad("session %s: %r" % (cid, e))
        agi.finish()
        ended()

    return call


def main() -> None:
    from _common import Env, Meter, emit, ready, skip  # the harness's helpers

    env = Env()
    if env.workload != "fastagi":
        skip("minimal_fastagi handles fastagi only")
    meter = Meter()
    state: Dict[str, Any] = {"count": 0, "bad": 0, "errors": [], "result": None}

    def bad(message: str) -> None:
        state["bad"] += 1
        if len(state["errors"]) < 10:
            state["errors"].append(message)

    def finish(error: Optional[str] = None) -> None:
        if state["result"] is not None:
            return
        meter.stop()
        state["result"] = meter.result(state["count"],
                                       state["errors"] + ([error] if error else []),
                                       bad=state["bad"])
        if reactor.running:  # type: ignore[attr-defined]
            reactor.stop()  # type: ignore[attr-defined]

    def ended() -> None:
        state["count"] += 1
        if state["count"] == env.n:
            finish()

    factory = MinimalFactory(referenceHandler(meter.start, bad, ended))
    reactor.listenTCP(env.port, factory, interface=env.host)  # type: ignore[attr-defined]
    reactor.callWhenRunning(ready)  # type: ignore[attr-defined]
    reactor.callLater(env.timeout, finish, "timeout after %ss" % env.timeout)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    emit(state["result"])


if __name__ == "__main__":
    main()
