"""IVR menus (starpy.menu) driven by the fake Asterisk caller with scripted DTMF."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import attrs
import pytest
import pytest_twisted
from twisted.internet import defer, task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import error, fastagi, menu
from starpy.agi import AGISession
from starpy.classicagi import ClassicAGIProtocol
from starpy.testing.agi import (
    FakeAGICaller,
    InMemoryCall,
    SimulatedChannel,
    Transcript,
    placeCallInMemory,
    placeCallTCP,
)

SOUNDS: Dict[str, float] = {
    "atlantic": 3.0,
    "pm-invalid-option": 1.0,
    "sorry": 0.5,
    "try-again": 0.5,
    "extension": 2.0,
    "you-entered": 1.0,
    "if-correct-press": 1.0,
    "digits/1": 0.5,
    "agent-pass": 2.0,
    "auth-incorrect": 1.0,
    "vm-intro": 2.0,
    "beep": 0.25,
}

ALL_KEYS = "0123456789*#ABCD"


@attrs.define
class Call:
    """The outcome of one menu run on a simulated call."""

    value: Any
    failure: Optional[BaseException]
    transcript: Transcript
    channel: SimulatedChannel
    agi: AGISession

    @property
    def commands(self) -> List[str]:
        return [line.decode() for line in self.transcript.commands()]


def run(interaction: Callable[[AGISession], "Deferred[Any]"],
        dtmf: Sequence[Tuple[float, str]] = (), hangupAt: Optional[float] = 600.0,
        sounds: Optional[Dict[str, float]] = None, classic: bool = False) -> Call:
    """Call *interaction(agi)* on a fake call in memory and record how it ended.

    The handler only records; every assertion is made by the test, after the
    call.  Also checks that nothing is left pending once the call is over.
    """
    clock = task.Clock()
    channel = SimulatedChannel(request="agi://127.0.0.1:4573/menu", dtmf=list(dtmf),
                               hangupAt=hangupAt, sounds=dict(SOUNDS if sounds is None
                                                              else sounds))
    outcomes: List[Tuple[Any, Optional[BaseException]]] = []
    sessions: List[AGISession] = []

    async def main(agi: AGISession) -> None:
        sessions.append(agi)
        try:
            value = await interaction(agi)
        except Exception as e:
            outcomes.append((None, e))
        else:
            outcomes.append((value, None))

    def handler(agi: AGISession) -> "Deferred[None]":
        return Deferred.fromCoroutine(main(agi))

    if classic:
        server = ClassicAGIProtocol(lambda agi: fastagi.runHandler(agi, handler), clock)
        call = InMemoryCall(FakeAGICaller(channel, clock), server, clock)
    else:
        call = placeCallInMemory(fastagi.FastAGIFactory(handler, clock=clock), channel, clock)
    transcript = call.runUntilFinished()
    assert len(outcomes) == 1, transcript.format()
    assert clock.getDelayedCalls() == []
    agi = sessions[0]
    assert agi.pendingCount == 0
    return Call(outcomes[0][0], outcomes[0][1], transcript, channel, agi)


def atlantic(**options: Any) -> menu.Menu:
    """The top menu of StarPy's documentation."""
    settings: Dict[str, Any] = dict(
        tellInvalid=False, prompt="atlantic",
        options=[menu.Option(option="0"), menu.Option(option="#"), menu.ExitOn(option="*")],
        maxRepetitions=5)
    settings.update(options)
    return menu.Menu(**settings)


# -- choosing an option ----------------------------------------------------------------------


def test_keyDuringThePromptChoosesAtOnce() -> None:
    model = atlantic()
    call = run(model, dtmf=[(1.0, "#")])
    assert call.failure is None
    assert call.value == [(model.options[1], "#")]
    assert call.value[0][0] is model.options[1]
    assert call.commands == ["STREAM FILE atlantic #*0"]


def test_keyAfterThePromptChooses() -> None:
    model = atlantic(timeout=4.0)
    call = run(model, dtmf=[(5.0, "0")])
    assert call.value == [(model.options[0], "0")]
    assert call.commands == ["STREAM FILE atlantic #*0", "WAIT FOR DIGIT 4000"]


def test_promptIsInterruptedOnlyByValidKeys() -> None:
    """A key that starts no option does not stop the prompt (Asterisk ignores it)."""
    model = atlantic()
    call = run(model, dtmf=[(1.0, "5"), (2.0, "0")])
    assert call.value == [(model.options[0], "0")]
    assert call.commands == ["STREAM FILE atlantic #*0"]
    assert "DTMF '5' ignored (not an escape digit)" in call.transcript.notes()
    assert call.transcript.entries[-2].data == b"200 result=48 endpos=16160\n"


def test_invalidKeyWithTellInvalidPlaysTheInvalidMessageAndRepeats() -> None:
    model = atlantic(tellInvalid=True)
    # prompt 0-3 s, wait; "5" at 4 s: invalid message 4-5 s; prompt again from 5 s.
    call = run(model, dtmf=[(4.0, "5"), (6.0, "0")])
    assert call.value == [(model.options[0], "0")]
    assert call.commands == [
        "STREAM FILE atlantic #*0", "WAIT FOR DIGIT 5000",
        'STREAM FILE pm-invalid-option ""', "STREAM FILE atlantic #*0"]


def test_invalidMessageIsTheUsersChoice() -> None:
    model = atlantic(tellInvalid=True, invalidPrompt=["sorry", "try-again"])
    call = run(model, dtmf=[(4.0, "5"), (6.0, "0")])
    assert call.value == [(model.options[0], "0")]
    assert call.commands[2:4] == ['STREAM FILE sorry ""', 'STREAM FILE try-again ""']


def test_invalidKeyWithoutTellInvalidRepeatsSilently() -> None:
    model = atlantic(tellInvalid=False)
    call = run(model, dtmf=[(4.0, "5"), (5.0, "0")])
    assert call.value == [(model.options[0], "0")]
    assert call.commands == ["STREAM FILE atlantic #*0", "WAIT FOR DIGIT 5000",
                             "STREAM FILE atlantic #*0"]


def test_noEntryExhaustsRepetitionsWithMenuTimeout() -> None:
    call = run(atlantic(maxRepetitions=2, timeout=1.5))
    assert isinstance(call.failure, error.MenuTimeout)
    assert isinstance(call.failure, error.MenuFinished)
    assert "3 attempts" in str(call.failure)
    assert call.commands == ["STREAM FILE atlantic #*0", "WAIT FOR DIGIT 1500"] * 3
    assert call.transcript.entries[-2].time == pytest.approx(3 * 4.5)


def test_zeroRepetitionsOffersTheMenuOnce() -> None:
    call = run(atlantic(maxRepetitions=0))
    assert isinstance(call.failure, error.MenuTimeout)
    assert call.commands == ["STREAM FILE atlantic #*0", "WAIT FOR DIGIT 5000"]


def test_invalidEntriesExhaustRepetitionsWithMenuUnexpectedOption() -> None:
    model = atlantic(maxRepetitions=1, tellInvalid=True)
    # 3.5 s: "9" -> invalid message 3.5-4.5; prompt 4.5-7.5; 8 s: "9" -> message, fail.
    call = run(model, dtmf=[(3.5, "9"), (8.0, "9")])
    assert isinstance(call.failure, error.MenuUnexpectedOption)
    assert "'9'" in str(call.failure)
    assert call.commands == ["STREAM FILE atlantic #*0", "WAIT FOR DIGIT 5000",
                             'STREAM FILE pm-invalid-option ""'] * 2


# -- sub-menus -------------------------------------------------------------------------------


def child() -> menu.Menu:
    return menu.Menu(
        tellInvalid=False,
        prompt=["atlantic", menu.DigitsPrompt(53), menu.DateTimePrompt(0, format="IMp")],
        options=[menu.Option(option="0"), menu.Option(option="#"), menu.ExitOn(option="*")],
    )


def parent() -> menu.Menu:
    return menu.Menu(prompt="atlantic", tellInvalid=False,
                     options=[menu.SubMenu(option="1", menu=child()), menu.Option("2")])


def test_subMenuResultIsTheChainDownToTheFinalOption() -> None:
    model = parent()
    call = run(model, dtmf=[(1.0, "1"), (2.0, "0")])
    sub = model.options[0]
    assert isinstance(sub, menu.SubMenu) and isinstance(sub.menu, menu.Menu)
    assert call.value == [(sub, "1"), (sub.menu.options[0], "0")]
    assert call.commands == ["STREAM FILE atlantic 12", "STREAM FILE atlantic #*0"]


def test_exitOnReturnsToTheParentMenu() -> None:
    model = parent()
    # "1" enters the child; "*" (during its first prompt) leaves it; the parent's
    # prompt plays again and "2" is the final choice, the exit is not reported.
    call = run(model, dtmf=[(1.0, "1"), (2.0, "*"), (3.0, "2")])
    assert call.value == [(model.options[1], "2")]
    assert call.commands == ["STREAM FILE atlantic 12", "STREAM FILE atlantic #*0",
                             "STREAM FILE atlantic 12"]


def test_exitOnInTheTopMenuFailsWithMenuExit() -> None:
    call = run(atlantic(), dtmf=[(1.0, "*")])
    assert isinstance(call.failure, error.MenuExit)


def test_returningFromASubMenuStartsTheParentsCountAgain() -> None:
    model = menu.Menu(prompt="atlantic", tellInvalid=False, maxRepetitions=1, timeout=1.0,
                      options=[menu.SubMenu("1", child()), menu.Option("2")])
    # parent: timeout (1 failure), "1" -> child, "*" back, timeout, "2".
    call = run(model, dtmf=[(4.5, "1"), (5.0, "*"), (9.5, "2")])
    assert call.value == [(model.options[1], "2")]


def test_childFailurePropagatesToTheParent() -> None:
    sub = menu.SubMenu("1", menu.Menu(prompt="atlantic", options=[menu.Option("0")],
                                      maxRepetitions=0, timeout=1.0))
    call = run(menu.Menu(prompt="atlantic", options=[sub]), dtmf=[(1.0, "1")])
    assert isinstance(call.failure, error.MenuTimeout)


# -- multi-key options -----------------------------------------------------------------------


def multiKey(**options: Any) -> menu.Menu:
    return menu.Menu(prompt="atlantic", interDigitTimeout=2.0, options=[
        menu.Option("1"), menu.Option("12"), menu.Option("#9"), menu.Option("3")], **options)


@pytest.mark.parametrize("dtmf, chosen, waits", [
    ([(1.0, "1"), (1.5, "2")], "12", ["WAIT FOR DIGIT 2000"]),
    ([(1.0, "1")], "1", ["WAIT FOR DIGIT 2000"]),          # nothing more: "1" after 2 s
    ([(1.0, "#"), (2.5, "9")], "#9", ["WAIT FOR DIGIT 2000"]),
    ([(1.0, "3")], "3", []),                                 # starts nothing longer
    ([(4.0, "1"), (5.0, "2")], "12", ["WAIT FOR DIGIT 5000", "WAIT FOR DIGIT 2000"]),
])
def test_multiKeyOptions(dtmf: List[Tuple[float, str]], chosen: str, waits: List[str]) -> None:
    model = multiKey()
    call = run(model, dtmf=dtmf)
    assert call.failure is None
    assert call.value == [(model.option(chosen), chosen)]
    assert call.commands == ["STREAM FILE atlantic #13"] + waits


def test_multiKeyOptionTimesOutAfterTheInterDigitTimeout() -> None:
    call = run(multiKey(), dtmf=[(1.0, "1")])
    assert call.transcript.entries[-2].time == pytest.approx(3.0)


@pytest.mark.parametrize("dtmf, entry", [
    ([(1.0, "1"), (1.5, "5")], "15"),      # no option starts with "15"
    ([(1.0, "#")], "#"),                   # "#9" left unfinished
])
def test_unfinishedOrWrongMultiKeyEntryIsInvalid(dtmf: List[Tuple[float, str]],
                                                 entry: str) -> None:
    call = run(multiKey(tellInvalid=True, maxRepetitions=0), dtmf=dtmf)
    assert isinstance(call.failure, error.MenuUnexpectedOption)
    assert repr(entry) in str(call.failure)
    assert call.commands[-1] == 'STREAM FILE pm-invalid-option ""'


# -- prompts ---------------------------------------------------------------------------------


def test_everyKindOfPromptElement() -> None:
    model = menu.Menu(prompt=[
        "atlantic", 42, menu.NumberPrompt(7, gender="f"), menu.DigitsPrompt(53),
        menu.AlphaPrompt("ab"), menu.DateTimePrompt(86400, format="IMp", timezone="UTC"),
        menu.AudioPrompt("digits/1"), menu.SilencePrompt(1.5)],
        options=[menu.Option("1")], maxRepetitions=0, timeout=1.0)
    call = run(model)
    assert isinstance(call.failure, error.MenuTimeout)
    assert call.commands == [
        "STREAM FILE atlantic 1", "SAY NUMBER 42 1", "SAY NUMBER 7 1 f", "SAY DIGITS 53 1",
        "SAY ALPHA ab 1", "SAY DATETIME 86400 1 IMp UTC", "STREAM FILE digits/1 1",
        "WAIT FOR DIGIT 1500", "WAIT FOR DIGIT 1000"]


def test_keyStopsTheWholePrompt() -> None:
    model = menu.Menu(prompt=["atlantic", menu.DigitsPrompt(53), menu.DateTimePrompt()],
                      options=[menu.Option("5")])
    call = run(model, dtmf=[(3.5, "5")])                  # during SAY DIGITS (3.0-4.6 s)
    assert call.value == [(model.options[0], "5")]
    assert call.commands == ["STREAM FILE atlantic 5", "SAY DIGITS 53 5"]


def test_dateTimePromptWithoutValueSaysTheTimeItPlays() -> None:
    model = menu.Menu(prompt=["atlantic", menu.DateTimePrompt()], options=[menu.Option("1")],
                      maxRepetitions=0, timeout=1.0)
    call = run(model)
    assert call.commands[1] == "SAY DATETIME 3 1"      # the session's clock: 3 s


def test_silenceListensForValidKeysOnly() -> None:
    model = menu.Menu(prompt=menu.SilencePrompt(2.0), options=[menu.Option("1")])
    # "7" during the silence is ignored; the silence goes on for its last 1.5 s.
    call = run(model, dtmf=[(0.5, "7"), (3.0, "1")])
    assert call.value == [(model.options[0], "1")]
    assert call.commands == ["WAIT FOR DIGIT 2000", "WAIT FOR DIGIT 1500",
                             "WAIT FOR DIGIT 5000"]


def test_silenceWithoutEscapeDigitsWaitsLocally() -> None:
    def pause(agi: AGISession) -> "Deferred[Optional[str]]":
        return menu.SilencePrompt(2.5).play(agi)

    call = run(pause, dtmf=[(1.0, "1")])
    assert call.value is None
    assert call.commands == []
    assert "DTMF '1' discarded (no command is listening)" in call.transcript.notes()


def test_aPromptNumberIsANumberPrompt() -> None:
    assert menu.Menu(prompt=[5, "x"], options=[menu.Option("1")]).prompt == (
        menu.NumberPrompt(5), menu.AudioPrompt("x"))


# -- CollectDigits ---------------------------------------------------------------------------


def extension(**options: Any) -> menu.CollectDigits:
    settings: Dict[str, Any] = dict(soundFile="extension", maxDigits=5, minDigits=3)
    settings.update(options)
    return menu.CollectDigits(**settings)


def test_collectDigitsEndsOnHash() -> None:
    model = extension()
    call = run(model, dtmf=[(0.5, "1"), (1.0, "2"), (1.5, "3"), (2.0, "#")])
    assert call.value == [(model, "123")]
    assert call.commands == ["STREAM FILE extension " + ALL_KEYS] + ["WAIT FOR DIGIT 5000"] * 3


def test_collectDigitsEndsAtMaxDigits() -> None:
    model = extension(maxDigits=3)
    call = run(model, dtmf=[(3.0, "7"), (3.5, "8"), (4.0, "9"), (4.5, "0")])
    assert call.value == [(model, "789")]
    assert call.commands == ["STREAM FILE extension " + ALL_KEYS] + ["WAIT FOR DIGIT 5000"] * 3


def test_collectDigitsEndsOnTimeoutWithEnoughDigits() -> None:
    model = extension(timeout=2.0)
    call = run(model, dtmf=[(0.5, "1"), (1.0, "2"), (1.5, "3"), (1.8, "4")])
    assert call.value == [(model, "1234")]
    assert call.transcript.entries[-2].time == pytest.approx(3.8)


def test_collectDigitsTooFewRepeats() -> None:
    model = extension()
    # "12#" is too short: invalid message 1.5-2.5 s, prompt again, "456#".
    call = run(model, dtmf=[(0.5, "1"), (1.0, "2"), (1.5, "#"),
                            (3.0, "4"), (3.5, "5"), (4.0, "6"), (4.5, "#")])
    assert call.value == [(model, "456")]
    assert call.commands == [
        "STREAM FILE extension " + ALL_KEYS, "WAIT FOR DIGIT 5000", "WAIT FOR DIGIT 5000",
        'STREAM FILE pm-invalid-option ""',
        "STREAM FILE extension " + ALL_KEYS] + ["WAIT FOR DIGIT 5000"] * 3


def test_collectDigitsTooFewExhaustsRepetitions() -> None:
    model = extension(maxRepetitions=0, tellInvalid=False)
    call = run(model, dtmf=[(0.5, "1"), (1.0, "#")])
    assert isinstance(call.failure, error.MenuUnexpectedOption)
    assert call.commands == ["STREAM FILE extension " + ALL_KEYS, "WAIT FOR DIGIT 5000"]


def test_collectDigitsNothingEnteredTimesOut() -> None:
    call = run(extension(maxRepetitions=1, timeout=3.0))
    assert isinstance(call.failure, error.MenuTimeout)
    assert call.commands == ["STREAM FILE extension " + ALL_KEYS, "WAIT FOR DIGIT 3000"] * 2


def test_collectDigitsWithMinDigitsZeroAcceptsAnEmptyEntry() -> None:
    model = extension(minDigits=0)
    call = run(model, dtmf=[(0.5, "#")])
    assert call.value == [(model, "")]


def test_collectDigitsReviewConfirmed() -> None:
    model = extension(confirm=True)
    # entry 0.5-2 s; "you-entered" 2-3 s; SAY DIGITS 123 from 3 s; "1" at 3.5 s.
    call = run(model, dtmf=[(0.5, "1"), (1.0, "2"), (1.5, "3"), (2.0, "#"), (3.5, "1")])
    assert call.value == [(model, "123")]
    assert call.commands[4:] == ["STREAM FILE you-entered " + ALL_KEYS,
                                 "SAY DIGITS 123 " + ALL_KEYS]


def test_collectDigitsReviewOtherKeyEntersAgain() -> None:
    model = extension(confirm=True)
    call = run(model, dtmf=[(0.5, "1"), (1.0, "2"), (1.5, "3"), (2.0, "#"), (2.5, "2"),
                            (3.0, "4"), (3.5, "5"), (4.0, "6"), (4.5, "#"), (5.0, "1")])
    assert call.value == [(model, "456")]
    assert call.commands.count("STREAM FILE extension " + ALL_KEYS) == 2
    assert call.commands.count("STREAM FILE you-entered " + ALL_KEYS) == 2


def test_collectDigitsReviewUnansweredCountsAsAnAttempt() -> None:
    model = extension(confirm=True, maxRepetitions=1, timeout=1.0,
                      reviewPrompt=[], confirmPrompt="if-correct-press")
    call = run(model, dtmf=[(0.5, "1"), (0.6, "2"), (0.7, "3"), (0.8, "#")])
    assert isinstance(call.failure, error.MenuTimeout)
    assert call.commands[4:] == ["SAY DIGITS 123 " + ALL_KEYS,
                                 "STREAM FILE if-correct-press " + ALL_KEYS,
                                 "WAIT FOR DIGIT 1000"] * 2


def test_collectDigitsInASubMenu() -> None:
    collect = extension()
    model = menu.Menu(prompt="atlantic", options=[menu.SubMenu("2", collect)])
    call = run(model, dtmf=[(1.0, "2"), (1.5, "5"), (2.0, "5"), (2.5, "5"), (3.0, "#")])
    assert call.value == [(model.options[0], "2"), (collect, "555")]


# -- CollectPassword -------------------------------------------------------------------------


def test_passwordRight() -> None:
    model = menu.CollectPassword(expected="4321")
    call = run(model, dtmf=[(0.5, "4"), (1.0, "3"), (1.5, "2"), (2.0, "1"), (2.5, "#")])
    assert call.value == [(model, "4321")]
    assert call.commands[0] == "STREAM FILE agent-pass " + ALL_KEYS


def test_onlyThePasswordIsHiddenFromTheHistory() -> None:
    """CollectPassword hides its replies; CollectDigits (an extension, an
    account number) keeps them, as every other command does."""
    digits = menu.CollectDigits(soundFile="extension", maxDigits=3)
    call = run(digits, dtmf=[(0.5, "5"), (1.0, "5"), (1.5, "5")])
    assert call.value == [(digits, "555")]
    assert ("WAIT FOR DIGIT 5000", "200 result=53") in list(call.agi.history)
    password = menu.CollectPassword(expected="4321")
    call = run(password, dtmf=[(0.5, "4"), (1.0, "3"), (1.5, "2"), (2.0, "1"), (2.5, "#")])
    assert call.value == [(password, "4321")]
    replies = [reply for line, reply in call.agi.history]
    assert replies and not any("result=5" in r or "result=4" in r for r in replies)


def test_passwordWrongThenRight(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    model = menu.CollectPassword(expected="4321")
    call = run(model, dtmf=[(0.5, "9"), (1.0, "9"), (1.5, "#"),
                            (3.0, "4"), (3.1, "3"), (3.2, "2"), (3.3, "1"), (3.4, "#")])
    assert call.value == [(model, "4321")]
    assert 'STREAM FILE auth-incorrect ""' in call.commands
    assert "wrong password" in caplog.text
    menuLogs = [r.getMessage() for r in caplog.records if r.name == "starpy.menu"]
    assert menuLogs and not any("4321" in m or "99" in m for m in menuLogs)


def test_passwordWrongExhaustsRepetitions() -> None:
    model = menu.CollectPassword(expected="4321", maxRepetitions=1, tellInvalid=False)
    call = run(model, dtmf=[(0.5, "1"), (1.0, "#"), (2.5, "2"), (3.0, "#")])
    assert isinstance(call.failure, error.MenuUnexpectedOption)
    assert call.commands.count("STREAM FILE agent-pass " + ALL_KEYS) == 2
    assert 'STREAM FILE auth-incorrect ""' not in call.commands


def test_passwordCheckedByACallable() -> None:
    seen: List[str] = []

    def check(agi: AGISession, entry: str) -> "Deferred[bool]":
        seen.append(entry)
        return defer.succeed(entry == "77")

    model = menu.CollectPassword(expected=check)
    call = run(model, dtmf=[(0.5, "7"), (1.0, "7"), (1.5, "#")])
    assert call.value == [(model, "77")]
    assert seen == ["77"]


def test_passwordIsNotInTheRepr() -> None:
    assert "4321" not in repr(menu.CollectPassword(expected="4321"))


# -- CollectAudio ----------------------------------------------------------------------------


class FakeFiles:
    """An AudioFiles that records what it was asked to do."""

    def __init__(self, failMove: bool = False) -> None:
        self.calls: List[Tuple[str, ...]] = []
        self.failMove = failMove

    def moveIntoPlace(self, agi: AGISession, temporary: str, final: str, format: str) -> None:
        self.calls.append(("move", temporary, final, format))
        if self.failMove:
            raise OSError("disk full")

    def discard(self, agi: AGISession, temporary: str, format: str) -> "Deferred[None]":
        self.calls.append(("discard", temporary, format))
        return defer.succeed(None)


GREETING = "/var/spool/asterisk/greetings/1000"


def test_audioKeptIsMovedIntoPlace() -> None:
    files = FakeFiles()
    model = menu.CollectAudio("vm-intro", GREETING, files=files, maxDuration=30.0)
    # prompt 0-2 s, beep 2-2.25 s, recording until "#" at 6 s.
    call = run(model, dtmf=[(6.0, "#")])
    assert call.failure is None
    assert call.value == [(model, GREETING)]
    (recording,) = call.channel.recordings
    assert recording.filename.startswith(GREETING + ".tmp-")
    assert recording.reason == "dtmf"
    assert files.calls == [("move", recording.filename, GREETING, "wav")]
    assert call.commands == ['STREAM FILE vm-intro #',
                             "RECORD FILE %s wav # 30000 BEEP" % (recording.filename,)]


def test_audioTooShortIsDeletedAndRecordedAgain() -> None:
    files = FakeFiles()
    model = menu.CollectAudio("vm-intro", GREETING, files=files, minDuration=1.0)
    # first recording ends at 2.5 s, 0.25 s long; invalid message 2.5-3.5 s; prompt
    # 3.5-5.5 s; beep to 5.75 s; second recording ends at 9 s.
    call = run(model, dtmf=[(2.5, "#"), (9.0, "#")])
    assert call.value == [(model, GREETING)]
    first, second = call.channel.recordings
    assert first.filename != second.filename
    assert files.calls == [("discard", first.filename, "wav"),
                           ("move", second.filename, GREETING, "wav")]
    assert 'STREAM FILE pm-invalid-option ""' in call.commands


def test_audioDeletedWhenTheCallerHangsUp() -> None:
    files = FakeFiles()
    model = menu.CollectAudio("vm-intro", GREETING, files=files)
    call = run(model, hangupAt=4.0)
    assert isinstance(call.failure, error.AGIHangup)
    (recording,) = call.channel.recordings
    assert recording.reason == "hangup"
    assert files.calls == [("discard", recording.filename, "wav")]


def test_audioDeletedWhenTheMoveFails() -> None:
    files = FakeFiles(failMove=True)
    model = menu.CollectAudio("vm-intro", GREETING, files=files)
    call = run(model, dtmf=[(4.0, "#")])
    assert isinstance(call.failure, OSError)
    (recording,) = call.channel.recordings
    assert files.calls == [("move", recording.filename, GREETING, "wav"),
                           ("discard", recording.filename, "wav")]


def test_audioWithUpstreamNames() -> None:
    """Upstream's escapeDigits, timeout, temporaryFile and deleteOnFail."""
    files = FakeFiles()
    model = menu.CollectAudio("vm-intro", GREETING, files=files, escapeDigits="*",
                              timeout=20.0, temporaryFile="greeting-new", deleteOnFail=False,
                              minDuration=1.0)
    # first recording ends at 2.5 s (too short: kept, not deleted), second at 9 s.
    call = run(model, dtmf=[(2.5, "*"), (9.0, "*")])
    assert call.value == [(model, GREETING)]
    assert call.commands[:2] == ["STREAM FILE vm-intro *",
                                 "RECORD FILE greeting-new wav * 20000 BEEP"]
    assert files.calls == [("move", "greeting-new", GREETING, "wav")]   # no discard
    assert (model.stopKeys, model.longest) == ("*", 20.0)


@pytest.mark.parametrize("fields, name", [
    ({"escapeDigits": "*", "endKeys": "1"}, "escapeDigits"),
    ({"timeout": 10.0, "maxDuration": 30.0}, "timeout"),
    ({"temporaryFile": GREETING}, "temporaryFile"),
    ({"deleteOnFail": "no"}, "deleteOnFail"),
    ({"escapeDigits": "x"}, "escapeDigits"),
])
def test_audioUpstreamNamesChecked(fields: Dict[str, Any], name: str) -> None:
    with pytest.raises(error.MenuDefinitionError) as raised:
        menu.CollectAudio("vm-intro", GREETING, **fields)
    assert raised.value.field == name


def test_digitsReadBack() -> None:
    model = menu.CollectDigits(soundFile="extension", maxDigits=3, readBack=True)
    call = run(model, dtmf=[(0.5, "5"), (1.0, "5"), (1.5, "7")])
    assert call.value == [(model, "557")]
    assert call.commands[-1].startswith("SAY DIGITS 557 ")
    quiet = run(menu.CollectDigits(soundFile="extension", maxDigits=3),
                dtmf=[(0.5, "5"), (1.0, "5"), (1.5, "7")])
    assert not any(c.startswith("SAY DIGITS") for c in quiet.commands)


def test_passwordEscapeDigitsCancel() -> None:
    model = menu.CollectPassword(expected="4321", escapeDigits="*")
    call = run(model, dtmf=[(0.5, "4"), (1.0, "*"), (1.5, "#")])
    assert isinstance(call.failure, error.MenuExit)
    with pytest.raises(error.MenuDefinitionError):
        menu.CollectPassword(expected="4321", escapeDigits="#")


def test_localFilesMovesAndDeletes(tmp_path: Path) -> None:
    files = menu.LocalFiles(soundsDirectory=str(tmp_path))
    agi: Any = None
    (tmp_path / "greeting.tmp-1.wav").write_bytes(b"RIFF")
    files.moveIntoPlace(agi, "greeting.tmp-1", "greeting", "wav")
    assert (tmp_path / "greeting.wav").read_bytes() == b"RIFF"
    assert not (tmp_path / "greeting.tmp-1.wav").exists()
    absolute = str(tmp_path / "other")
    (tmp_path / "other.WAV").write_bytes(b"x")
    files.discard(agi, absolute, "wav49")
    assert not (tmp_path / "other.WAV").exists()
    files.discard(agi, absolute, "wav49")          # already gone: not an error


# -- hangups -----------------------------------------------------------------------------------


@pytest.mark.parametrize("hangupAt", [1.0, 4.0])        # during the prompt, during the wait
def test_hangupFailsWithAGIHangupAndLeavesNothingPending(hangupAt: float) -> None:
    call = run(atlantic(), hangupAt=hangupAt)
    assert isinstance(call.failure, error.AGIHangup)
    assert call.agi.hungUp
    assert call.transcript.agiStatus == "HANGUP"


def test_hangupInASubMenuCollectingDigits() -> None:
    model = menu.Menu(prompt="atlantic", options=[menu.SubMenu("2", extension())])
    call = run(model, dtmf=[(1.0, "2"), (2.0, "1")], hangupAt=3.5)
    assert isinstance(call.failure, error.AGIHangup)
    assert call.commands[-2:] == ["WAIT FOR DIGIT 5000", "CHANNEL STATUS"]


def test_hangupNeverReachesOnFailure() -> None:
    handled: List[Any] = []
    call = run(atlantic(onFailure=lambda agi, reason: handled.append(reason)), hangupAt=1.0)
    assert isinstance(call.failure, error.AGIHangup)
    assert handled == []


def test_missingSoundFileIsNotAHangup() -> None:
    call = run(atlantic(prompt="no-such-file"))
    assert type(call.failure) is error.AGICommandFailure
    assert call.commands == ["STREAM FILE no-such-file #*0", "CHANNEL STATUS"]


def test_cancellingTheMenuLeavesNothingPending() -> None:
    clock = task.Clock()
    results: List[Any] = []

    def main(agi: AGISession) -> "Deferred[Any]":
        d = atlantic()(agi)
        d.addErrback(lambda reason: results.append(reason.type))
        clock.callLater(1.0, d.cancel)
        return d

    channel = SimulatedChannel(sounds=dict(SOUNDS), hangupAt=600.0)
    call = placeCallInMemory(fastagi.FastAGIFactory(main, clock=clock), channel, clock)
    call.runUntilFinished()
    assert results == [defer.CancelledError]
    assert clock.getDelayedCalls() == []


# -- handlers ----------------------------------------------------------------------------------


def test_optionOnSuccessValueIsReturnedThroughEveryMenu() -> None:
    calls: List[Tuple[AGISession, str]] = []

    async def operator(agi: AGISession, digits: str) -> str:
        calls.append((agi, digits))
        await agi.verbose("to the operator")
        return "operator"

    inner = menu.Menu(prompt="atlantic", options=[menu.Option("0", onSuccess=operator)])
    model = menu.Menu(prompt="atlantic", options=[menu.SubMenu("1", inner)])
    call = run(model, dtmf=[(1.0, "1"), (2.0, "0")])
    assert call.value == "operator"
    assert calls == [(call.agi, "0")]
    assert call.channel.verboseMessages == [(0, "to the operator")]


def test_menuOnSuccessReceivesTheChain() -> None:
    model = atlantic(onSuccess=lambda agi, chain: [digits for option, digits in chain])
    call = run(model, dtmf=[(1.0, "0")])
    assert call.value == ["0"]


def test_menuOnFailureReceivesTheFailure() -> None:
    reasons: List[Failure] = []

    def onFailure(agi: AGISession, reason: Failure) -> str:
        reasons.append(reason)
        return "fallback"

    call = run(atlantic(maxRepetitions=0, onFailure=onFailure))
    assert call.value == "fallback"
    assert reasons[0].check(error.MenuTimeout)


def test_menuOnFailureMayRaise() -> None:
    def onFailure(agi: AGISession, reason: Failure) -> None:
        raise KeyError("nope")

    call = run(atlantic(maxRepetitions=0, onFailure=onFailure))
    assert isinstance(call.failure, KeyError)


def test_exitOnDoesNotReachOnFailure() -> None:
    handled: List[Any] = []
    call = run(atlantic(onFailure=lambda agi, reason: handled.append(reason)),
               dtmf=[(1.0, "*")])
    assert isinstance(call.failure, error.MenuExit)
    assert handled == []


def test_callableOptionsAsStarPyDocumentsThem() -> None:
    """SubMenu and ExitOn are callable with the AGI and the selected option."""
    sub = menu.SubMenu("1", atlantic())
    call = run(lambda agi: sub(agi, "1"), dtmf=[(1.0, "0")])
    assert isinstance(sub.menu, menu.Menu)
    assert call.value == [(sub, "1"), (sub.menu.options[0], "0")]
    call = run(lambda agi: menu.ExitOn()(agi, "*"))
    assert isinstance(call.failure, error.MenuExit)


# -- every transport ---------------------------------------------------------------------------


def test_menuRunsOverClassicAGI() -> None:
    model = parent()
    call = run(model, dtmf=[(1.0, "1"), (2.0, "0")], classic=True)
    sub = model.options[0]
    assert isinstance(sub, menu.SubMenu) and isinstance(sub.menu, menu.Menu)
    assert call.value[1] == (sub.menu.options[0], "0")


@pytest_twisted.ensureDeferred
async def test_menuOverLoopbackTCP() -> None:
    from twisted.internet import reactor

    model = menu.Menu(prompt="short", options=[menu.Option("1"), menu.Option("12")],
                      interDigitTimeout=0.5)
    results: List[Any] = []

    async def main(agi: AGISession) -> None:
        results.append(await model(agi))

    factory = fastagi.FastAGIFactory(lambda agi: Deferred.fromCoroutine(main(agi)))
    port: Any = await fastagi.listenFastAGI(factory, 0, reactor=reactor)
    try:
        channel = SimulatedChannel(sounds={"short": 0.2}, dtmf=[(0.05, "1"), (0.1, "2")])
        transcript = await placeCallTCP(reactor, "127.0.0.1", port.getHost().port, channel)
    finally:
        await port.stopListening()
    assert results == [[(model.options[1], "12")]]
    assert [c.decode() for c in transcript.commands()] == ["STREAM FILE short 1",
                                                          "WAIT FOR DIGIT 500"]


# -- models: immutable, validated --------------------------------------------------------------


def test_modelsAreImmutable() -> None:
    model = atlantic()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        model.maxRepetitions = 3  # type: ignore[misc]
    assert isinstance(model.options, tuple) and isinstance(model.prompt, tuple)


@pytest.mark.parametrize("build, field, words", [
    (lambda: atlantic(options=[menu.Option("1"), menu.ExitOn("1")]), "options[1]",
     "duplicate option '1'"),
    (lambda: atlantic(options=[menu.Option("1"), menu.Option("12")], interDigitTimeout=0),
     "options", "'1' is a prefix of option '12'"),
    (lambda: atlantic(maxRepetitions=-1), "maxRepetitions", "0 or more, not -1"),
    (lambda: atlantic(maxRepetitions=2.5), "maxRepetitions", "integer"),
    (lambda: atlantic(timeout=0), "timeout", "more than 0"),
    (lambda: atlantic(timeout="5"), "timeout", "number of seconds"),
    (lambda: atlantic(options=[]), "options", "at least one option"),
    (lambda: atlantic(options=["1"]), "options[0]", "Option, SubMenu or ExitOn"),
    (lambda: atlantic(tellInvalid="no"), "tellInvalid", "true or false"),
    (lambda: atlantic(prompt=[object()]), "prompt[0]", "sound file name"),
    (lambda: atlantic(onSuccess="x"), "onSuccess", "callable"),
    (lambda: menu.Option("x"), "option", "not a telephone key"),
    (lambda: menu.Option(""), "option", "must not be empty"),
    (lambda: menu.SubMenu("1", menu.Option("2")),  # type: ignore[arg-type]
     "menu", "must be a Menu"),
    (lambda: extension(minDigits=4, maxDigits=3), "maxDigits", "4 or more"),
    (lambda: extension(confirmKey="12"), "confirmKey", "one key"),
    (lambda: menu.CollectPassword(expected="12#"), "expected", "'#' ends the entry"),
    (lambda: menu.CollectAudio("p", "f", format="w/av"), "format", "format name"),
    (lambda: menu.CollectAudio("p", "f", minDuration=5, maxDuration=2), "minDuration",
     "less than maxDuration"),
    (lambda: menu.CollectAudio("p", "f", files=object()),  # type: ignore[arg-type]
     "files", "moveIntoPlace"),
    (lambda: menu.DigitsPrompt("5a"), "value", "digits"),
    (lambda: menu.SilencePrompt(-1), "seconds", "more than 0"),
    (lambda: menu.DateTimePrompt("now"), "value", "epoch seconds"),
])
def test_invalidModelsAreRefusedWithAClearError(build: Callable[[], Any], field: str,
                                                words: str) -> None:
    with pytest.raises(error.MenuDefinitionError) as caught:
        build()
    assert caught.value.field == field
    assert words in caught.value.message
    assert str(caught.value).startswith(field + ": ")
    assert isinstance(caught.value, ValueError)


def test_prefixOptionsAreFineWithAnInterDigitTimeout() -> None:
    assert atlantic(options=[menu.Option("1"), menu.Option("12")]).escapeDigits == "1"


# -- building from plain data ------------------------------------------------------------------


ATLANTIC_JSON = """
{
  "prompt": "atlantic", "tellInvalid": false, "maxRepetitions": 5,
  "options": [
    {"option": "0", "onSuccess": "operator"},
    {"option": "#"},
    {"type": "SubMenu", "option": "1", "menu": {
        "prompt": ["atlantic", {"type": "DigitsPrompt", "value": 53},
                   {"type": "DateTimePrompt", "value": 0, "format": "IMp"}],
        "options": [{"option": "0"}, {"type": "ExitOn", "option": "*"}]}},
    {"type": "SubMenu", "option": "2", "menu": {
        "type": "CollectDigits", "soundFile": "extension", "maxDigits": 5, "minDigits": 3}},
    {"type": "ExitOn", "option": "*"}
  ]
}
"""


def operator(agi: AGISession, digits: str) -> str:
    return "operator"


def test_fromDictBuildsTheSameModelAsTheCode() -> None:
    built = menu.fromDict(json.loads(ATLANTIC_JSON), handlers={"operator": operator})
    expected = menu.Menu(
        prompt="atlantic", tellInvalid=False, maxRepetitions=5,
        options=[
            menu.Option("0", onSuccess=operator), menu.Option("#"),
            menu.SubMenu("1", menu.Menu(
                prompt=["atlantic", menu.DigitsPrompt(53), menu.DateTimePrompt(0, format="IMp")],
                options=[menu.Option("0"), menu.ExitOn("*")])),
            menu.SubMenu("2", menu.CollectDigits(soundFile="extension", maxDigits=5,
                                                 minDigits=3)),
            menu.ExitOn("*"),
        ])
    assert built == expected
    call = run(built, dtmf=[(1.0, "2"), (1.5, "5"), (2.0, "5"), (2.5, "5"), (3.0, "#")])
    extension = expected.options[3]
    assert isinstance(extension, menu.SubMenu)
    assert call.value == [(extension, "2"), (extension.menu, "555")]


def test_fromTOML() -> None:
    tomllib = pytest.importorskip("tomllib")
    data = tomllib.loads("""
type = "CollectPassword"
expected = "1234"
maxRepetitions = 1

[[soundFile]]
type = "AudioPrompt"
filename = "agent-pass"
""")
    assert menu.fromDict(data) == menu.CollectPassword(expected="1234", maxRepetitions=1)


def test_fromDictResolvesTheFilesHook() -> None:
    files = FakeFiles()
    built = menu.fromDict({"type": "CollectAudio", "prompt": "vm-intro", "filename": GREETING,
                           "files": "spool", "maxDuration": 30},
                          handlers={"spool": files})
    assert built == menu.CollectAudio("vm-intro", GREETING, files=files, maxDuration=30)
    call = run(built, dtmf=[(6.0, "#")])
    assert call.value == [(built, GREETING)]
    assert [c[0] for c in files.calls] == ["move"]


@pytest.mark.parametrize("data, field, words", [
    ({"prompt": "a", "options": [{"option": "1"}], "maxRepetition": 2}, "maxRepetition",
     "Menu has no field 'maxRepetition'"),
    ({"prompt": "a", "options": [{"type": "SubMenu", "option": "1",
                                  "menu": {"type": "CollectDigits", "soundFile": "x",
                                           "minDigits": 3, "maxDigits": 2}}]},
     "options[0].menu.maxDigits", "3 or more, not 2"),
    ({"prompt": "a", "options": [{"option": "1"}, {"option": "1"}]}, "options[1]",
     "duplicate option"),
    ({"prompt": "a", "options": [{"type": "Submenu", "option": "1"}]}, "options[0].menu",
     "SubMenu needs this field"),
    ({"prompt": "a", "options": [{"type": "Menu", "option": "1"}]}, "options[0].type",
     "unknown type 'Menu'"),
    ({"prompt": ["a", {"type": "DigitsPrompt", "value": "x"}], "options": [{"option": "1"}]},
     "prompt[1].value", "must be digits"),
    ({"prompt": ["a", {"value": 1}], "options": [{"option": "1"}]}, "prompt[1]",
     "needs a 'type'"),
    ({"prompt": "a", "options": [{"option": "1", "onSuccess": "missing"}]},
     "options[0].onSuccess", "no handler named 'missing'"),
    ({"prompt": "a", "options": "1"}, "options", "list of options"),
    ({"options": [{"option": "1"}]}, "prompt", "Menu needs this field"),
    ({"prompt": "a", "options": [{"option": "1"}], "timeout": -2}, "timeout", "more than 0"),
])
def test_fromDictErrorsNameTheBadField(data: Dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(error.MenuDefinitionError) as caught:
        menu.fromDict(data)
    assert caught.value.field == field
    assert words in caught.value.message


# -- the README section ------------------------------------------------------------------------


def test_readmeMenuSectionRuns() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index("\n## IVR menus\n")
    end = readme.find("\n## ", start + 1)
    text = readme[start:end if end > 0 else None]
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    (code,) = [block for block in blocks if "runUntilFinished" in block]
    namespace: Dict[str, Any] = {"print": lambda *args: printed.append(" ".join(map(str, args)))}
    printed: List[str] = []
    exec(compile(code, "README.md", "exec"), namespace)
    assert printed == ["chose ['9', '2', '555']"]
