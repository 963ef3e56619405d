"""The calls upstream StarPy 1.1.1's examples make, against the fake Asterisk.

Upstream's ``examples/*.py`` import ``utilapplication`` and ``menu`` as local
modules; with those lines changed to ``from starpy import utilapplication,
menu`` they must run against this library.  These tests make the same calls,
in the examples' callback style, on simulated calls (``starpy.testing``) and a
``task.Clock``.  (The examples themselves are not copied here.)
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional

from twisted.internet import defer, task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import error, fastagi, menu, utilapplication
from starpy.testing.agi import SimulatedChannel, Transcript, placeCallInMemory
from tests.deferreds import result

log = logging.getLogger("test_upstream_examples")


def call(main: Any, clock: task.Clock, limit: float = 600, **fields: Any) -> Transcript:
    fields.setdefault("sounds", {})
    fields["sounds"] = dict({"beep": 0.2, "at-tone-time-exactly": 1.0,
                             "thank-you-for-calling": 1.0, "your-account": 1.0,
                             "pm-invalid-option": 1.0, "menutest-toplevel": 3.0,
                             "menutest-secondlevel": 2.0, "menutest-digits": 2.0},
                            **fields["sounds"])
    fields.setdefault("sayItemDuration", 0.1)
    channel = SimulatedChannel(**fields)
    factory = fastagi.FastAGIFactory(main, clock=clock)
    return placeCallInMemory(factory, channel, clock).runUntilFinished(limit)


def commands(transcript: Transcript) -> List[str]:
    return [line.decode() for line in transcript.commands()]


def application(clock: task.Clock) -> utilapplication.UtilApplication:
    return utilapplication.UtilApplication(os.devnull, reactor=clock)


# -- hellofastagi.py / hellofastagiapp.py: InSequence, sayDateTime, finish ----------------

def test_hellofastagi() -> None:
    clock = task.Clock()
    clock.advance(1700000000)
    failures: List[Failure] = []

    def testFunction(agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
        sequence = fastagi.InSequence()
        sequence.append(agi.sayDateTime, clock.seconds())
        sequence.append(agi.finish)

        def onFailure(reason: Failure) -> None:
            failures.append(reason)
            agi.finish()

        return sequence().addErrback(onFailure)

    transcript = call(testFunction, clock)
    assert commands(transcript) == ['SAY DATETIME 1700000000 ""']
    assert transcript.agiStatus == "SUCCESS" and failures == []


# -- readingdigits.py: answer, wait, sayNumber, callbacks --------------------------------

class DialPlan:
    def __init__(self) -> None:
        self.count = 0
        self.said: List[Any] = []

    def __call__(self, agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
        self.agi = agi
        return self.agi.answer().addCallbacks(self.onAnswered, self.answerFailure)

    def answerFailure(self, reason: Failure) -> None:
        self.agi.finish()

    def onAnswered(self, resultLine: Any) -> Deferred[Any]:
        self.count += 1
        return self.agi.wait(2.0).addCallback(self.onWaited)

    def onWaited(self, result: Any) -> Deferred[Any]:
        assert result == 0
        return self.agi.sayNumber(self.count, "*").addErrback(self.onNumberFailed).addCallbacks(
            self.onFinished, self.onFinished)

    def onFinished(self, resultLine: Any) -> None:
        self.said.append(resultLine)
        self.agi.finish()

    def onNumberFailed(self, reason: Failure) -> None:
        self.said.append(reason)


def test_readingdigits() -> None:
    clock = task.Clock()
    plan = DialPlan()
    first = call(plan, clock)
    second = call(plan, clock, dtmf=[(2.05, "*")])
    assert commands(first) == ["ANSWER", "SAY NUMBER 1 *"]
    assert commands(second) == ["ANSWER", "SAY NUMBER 2 *"]
    assert plan.said == [0, ord("*")]   # upstream's shape: the key's code


# -- timestamp.py / timestampapp.py: streamFile, sayDateTime(format=), wait ------------

def test_timestamp() -> None:
    clock = task.Clock()
    clock.advance(1700000000)

    def testFunction(agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
        def onFailed(reason: Failure) -> None:
            log.error("failure: %s", reason.getTraceback())

        def cleanup(result: Any) -> Any:
            agi.finish()
            return result

        def onSaid(resultLine: Any) -> Deferred[Any]:
            t2 = clock.seconds() + 20.0

            def onDateFinished(resultLine: Any) -> Deferred[Any]:
                return agi.wait(t2 - .5 - clock.seconds()).addCallback(
                    lambda result: agi.streamFile("beep")).addCallback(
                    lambda result: agi.streamFile("thank-you-for-calling"))

            return agi.sayDateTime(t2, format="HMS").addCallback(onDateFinished)

        return agi.streamFile("at-tone-time-exactly").addCallback(onSaid).addErrback(
            onFailed).addCallbacks(cleanup, cleanup)

    transcript = call(testFunction, clock)
    assert commands(transcript) == [
        'STREAM FILE at-tone-time-exactly ""', 'SAY DATETIME 1700000021 "" HMS',
        'STREAM FILE beep ""', 'STREAM FILE thank-you-for-calling ""']
    assert transcript.agiStatus == "SUCCESS"


# -- fastagisetvariable.py and getvariable.py through UtilApplication -------------------

def test_fastagisetvariable() -> None:
    clock = task.Clock()
    app = application(clock)
    seen: List[Any] = []

    def testFunction(agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
        def getX(result: Any) -> Deferred[Any]:
            return agi.getVariable('this"toset')

        return agi.setVariable('this"toset', 'That"2set').addCallback(getX).addCallbacks(
            seen.append, seen.append)

    app.handleCallsFor("s", testFunction)
    call(app.agiSpecifier.factory(app.dispatchIncomingCall).mainFunction, clock, extension="s")
    assert seen == ['That"2set']


def test_getvariableUnsetGoesToTheErrback() -> None:
    clock = task.Clock()
    printed: List[str] = []

    def testFunction(agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
        def printVar(result: Any, names: List[str]) -> Optional[Deferred[Any]]:
            if not names:
                return None
            name = names.pop(0)
            return agi.getVariable(name).addCallback(
                lambda value: printed.append("%r -- %r" % (name, value))).addErrback(
                lambda reason: printed.append("%r -- UNDEFINED" % (name,))).addCallback(
                printVar, names)

        sequence = fastagi.InSequence()
        sequence.append(printVar, None, ["FAVOURITE", "NOSUCHVAR"])
        sequence.append(agi.finish)
        return sequence()

    call(testFunction, clock, variables={"FAVOURITE": "blue"})
    assert printed == ["'FAVOURITE' -- 'blue'", "'NOSUCHVAR' -- UNDEFINED"]


# -- menutest.py: the menu, through UtilApplication ------------------------------------

def mainMenu() -> menu.Menu:
    return menu.Menu(
        prompt="menutest-toplevel",
        textPrompt="Top level of the menu test example",
        options=[
            menu.Option(option="0"),
            menu.Option(option="#"),
            menu.ExitOn(option="*"),
            menu.SubMenu(
                option="1",
                menu=menu.Menu(
                    prompt="menutest-secondlevel",
                    textPrompt="A second-level menu",
                    tellInvalid=False,
                    options=[menu.Option(option="0"), menu.Option(option="#"),
                             menu.ExitOn(option="*")],
                ),
            ),
            menu.SubMenu(
                option="2",
                menu=menu.CollectDigits(
                    textPrompt="Digit collection example",
                    soundFile="menutest-digits",
                    maxDigits=5,
                    minDigits=3,
                ),
            ),
        ],
    )


def runMenuTest(dtmf: List[Any]) -> Any:
    clock = task.Clock()
    top = mainMenu()
    outcomes: List[Any] = []

    class Application(utilapplication.UtilApplication):
        def onS(self, agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
            def onComplete(result: Any) -> None:
                outcomes.append(result)
                agi.finish()

            return top(agi).addCallbacks(onComplete, onComplete)

    app = Application(os.devnull, reactor=clock)
    app.handleCallsFor("s", app.onS)
    call(app.dispatchIncomingCall, clock, dtmf=dtmf)
    (outcome,) = outcomes
    return top, outcome


def test_menutestChoices() -> None:
    top, chain = runMenuTest([(1.0, "0")])
    assert chain == [(top.options[0], "0")]
    top, chain = runMenuTest([(1.0, "1"), (4.0, "#")])
    assert chain == [(top.options[3], "1"), (top.options[3].menu.options[1], "#")]
    top, chain = runMenuTest([(1.0, "2"), (4.0, "4"), (4.5, "5"), (5.0, "6"), (5.5, "#")])
    assert chain == [(top.options[4], "2"), (top.options[4].menu, "456")]
    assert chain[-1][1] == "456"           # what calldurationcallback reads: result[0][1]
    top, chain = runMenuTest([(1.0, "1"), (4.0, "*"), (5.0, "0")])
    assert chain == [(top.options[0], "0")]


def test_menutestExit() -> None:
    top, outcome = runMenuTest([(1.0, "*")])
    assert isinstance(outcome, Failure) and outcome.check(error.MenuExit)


# -- calldurationcallback.py: CollectDigits, waitForCallOn(id()), execute, wait ----------

def test_calldurationcallback() -> None:
    clock = task.Clock()
    app = application(clock)
    tracker: Dict[str, Any] = {}

    def onS(agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
        def onAccountInput(result: Any, agi: fastagi.FastAGIProtocol) -> Any:
            tracker["account"] = result[0][1]
            agi.finish()
            return agi

        return menu.CollectDigits(soundFile="your-account", maxDigits=7, minDigits=3,
                                  timeout=5)(agi).addCallback(onAccountInput, agi=agi)

    app.handleCallsFor("s", onS)
    call(app.dispatchIncomingCall, clock,
         dtmf=[(1.5, "1"), (2.0, "2"), (2.5, "3"), (3.0, "#")])
    assert tracker["account"] == "123"

    key = object()
    said: List[str] = []

    def onUserReconnected(agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
        seq = fastagi.InSequence()
        seq.append(agi.wait, 1)
        seq.append(agi.execute, "Festival", "Call to account %r took 5 seconds"
                   % (tracker["account"],))
        seq.append(agi.wait, 1)
        seq.append(agi.finish)
        seq.append(lambda: defer.succeed(True))
        return seq()

    waiting = app.waitForCallOn(id(key), 15).addCallback(onUserReconnected)

    def festival(channel: Any, data: str) -> int:
        said.append(data)
        return 0

    call(app.dispatchIncomingCall, clock, extension=str(id(key)),
         applications={"Festival": festival})
    assert result(waiting) == [0, "0", 0, None, True]
    assert said == ["Call to account '123' took 5 seconds"]


def test_amiSpecifierPasswordIsTheSecret() -> None:
    specifier = utilapplication.AMISpecifier(username="u", secret="s")
    assert specifier.password == "s"
    specifier.password = "t"
    assert specifier.secret == "t"
