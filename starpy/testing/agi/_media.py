"""The AGI commands that play sounds or wait for digits: STREAM FILE,
CONTROL STREAM FILE, GET DATA, GET OPTION, WAIT FOR DIGIT, RECORD FILE,
RECEIVE CHAR/TEXT, the SAY commands and SPEECH RECOGNIZE (argument counts
and replies as in res_agi.c).

Private to :mod:`starpy.testing.agi`.
"""

from __future__ import annotations

import time as _time
from typing import TYPE_CHECKING

from starpy.testing._cscan import atoi, scanInt
from starpy.testing.agi._channel import ANY_DIGIT, FRAME_MS, SAMPLE_RATE, Recording
from starpy.testing.agi._waits import (
    FAILURE,
    SHOWUSAGE,
    SUCCESS,
    CommandRun,
    Outcome,
    Play,
    WaitDigit,
)

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.agi._caller import FakeAGICaller


def controlStreamFile(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if not 5 <= len(argv) <= 10:
        return SHOWUSAGE
    skipMs = 3000
    if len(argv) > 5:
        scanned = scanInt(argv[5])
        if scanned is None:
            return SHOWUSAGE
        skipMs = scanned
    offsetMs = 0
    if len(argv) > 9:
        scanned = scanInt(argv[9])
        if scanned is None:
            return SHOWUSAGE
        offsetMs = scanned
    return _controlStreamRun(call, argv, skipMs, offsetMs)


def _controlStreamRun(
    call: FakeAGICaller, argv: list[str], skipMs: int, offsetMs: int
) -> CommandRun:
    channel = call.channel
    stop = argv[4]
    forward = argv[6] if len(argv) > 6 and argv[6] else "#"
    rewind = argv[7] if len(argv) > 7 and argv[7] else "*"
    pause = argv[8] if len(argv) > 8 and argv[8] else ""
    total = channel.soundSamples(argv[3])
    if total is None:
        channel.setVariable("CPLAYBACKSTATUS", "ERROR")
        call.reply(f"200 result=-1 endpos={offsetMs}")
        return FAILURE
    position = min(total, max(0, offsetMs * 8))
    stopKey = ""
    while True:
        outcome = yield Play(total, position, stop + forward + rewind + pause, False)
        position = outcome.position
        if outcome.kind == "done":
            result, endMs = 0, -1
            break
        if outcome.kind == "hangup":
            result, endMs = -1, position // 8
            break
        digit = outcome.digit
        if digit in forward:
            position = min(total, position + skipMs * 8)
            continue
        if digit in rewind:
            position = max(0, position - skipMs * 8)
            continue
        if pause and digit in pause:
            resumed = yield WaitDigit(-1, pause + stop, False)
            if resumed.kind == "hangup":
                result, endMs = -1, position // 8
                break
            if resumed.digit in pause:
                continue
            digit = resumed.digit
        result, endMs, stopKey = ord(digit), position // 8, digit
        break
    if result > 0:
        channel.setVariable("CPLAYBACKSTATUS", "USERSTOPPED")
        channel.setVariable("CPLAYBACKSTOPKEY", stopKey)
    else:
        channel.setVariable("CPLAYBACKSTATUS", "ERROR" if result < 0 else "SUCCESS")
    channel.setVariable("CPLAYBACKOFFSET", str(endMs))
    call.reply(f"200 result={result} endpos={endMs}")
    return SUCCESS if result >= 0 else FAILURE



def getData(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) < 3:
        return SHOWUSAGE
    return _getDataRun(call, argv)


def _getDataRun(call: FakeAGICaller, argv: list[str]) -> CommandRun:
    timeout = atoi(argv[3]) if len(argv) >= 4 else 0
    maxDigits = atoi(argv[4]) if len(argv) >= 5 else 1024
    prompt = argv[2]
    total = None
    if prompt:
        total = call.channel.soundSamples(prompt)
        if total is None:
            call.reply("200 result=-1")
            return SUCCESS
    if timeout > 0:
        firstTimeout = nextTimeout = timeout
    elif timeout < 0:
        firstTimeout = nextTimeout = 1000000000
    else:
        firstTimeout, nextTimeout = 6000, 2000
    if maxDigits == 0:
        call.reply("200 result=-1")
        return SUCCESS
    collected = ""
    waitMs = firstTimeout
    while True:
        if total is not None:
            outcome = yield Play(total, 0, ANY_DIGIT, True)
            total = None
            if outcome.kind == "done":
                outcome = yield WaitDigit(waitMs)
        else:
            outcome = yield WaitDigit(waitMs)
        if outcome.kind == "hangup":
            call.reply("200 result=-1")
            return SUCCESS
        if outcome.kind == "control":
            return SUCCESS
        if outcome.kind == "timeout":
            call.reply(f"200 result={collected} (timeout)")
            return SUCCESS
        digit = outcome.digit
        if digit == "#" and not collected:
            call.reply("200 result=")
            return SUCCESS
        if digit != "#":
            collected += digit
        if digit == "#" or len(collected) >= maxDigits:
            call.reply(f"200 result={collected}")
            return SUCCESS
        waitMs = nextTimeout



def getOption(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if not 4 <= len(argv) <= 5:
        return SHOWUSAGE
    return _getOptionRun(call, argv)


def _getOptionRun(call: FakeAGICaller, argv: list[str]) -> CommandRun:
    escape = argv[3]
    if len(argv) == 5:
        timeoutMs = atoi(argv[4])
    else:
        timeoutMs = int(call.channel.digitTimeout * 1000)
    total = call.channel.soundSamples(argv[2])
    if total is None:
        call.reply("200 result=-1 endpos=0")
        return FAILURE
    outcome = yield Play(total, 0, escape, True)
    if outcome.kind == "control":
        return SUCCESS
    position = outcome.position
    result = digitResult(outcome)
    if result == 0:
        waited = yield WaitDigit(timeoutMs)
        result = 1 if waited.kind == "control" else digitResult(waited)
        # Asterisk keeps the result only if it is one of the escape digits
        # (so a hangup here reads as 0).
        if result <= 0 or chr(result) not in escape:
            result = 0
    call.reply(f"200 result={result} endpos={position}")
    return SUCCESS if result >= 0 else FAILURE


def digitResult(outcome: Outcome) -> int:
    if outcome.kind == "digit":
        return ord(outcome.digit)
    if outcome.kind == "hangup":
        return -1
    return 0



def receiveChar(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) != 3:
        return SHOWUSAGE
    return _receiveRun(call, argv, char=True)


def receiveText(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) != 3:
        return SHOWUSAGE
    return _receiveRun(call, argv, char=False)


def _receiveRun(call: FakeAGICaller, argv: list[str], char: bool) -> CommandRun:
    # The simulated caller never sends text: the command waits out its
    # timeout (or the hangup) and reports nothing received.
    yield WaitDigit(atoi(argv[2]), "", False)
    if char:
        call.reply("200 result=-1 (hangup)")
        return FAILURE
    call.reply("200 result=-1")
    return SUCCESS


def recordFile(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) < 6:
        return SHOWUSAGE
    timeoutMs = scanInt(argv[5])
    if timeoutMs is None:
        return SHOWUSAGE
    return _recordRun(call, argv, timeoutMs)


def _recordRun(call: FakeAGICaller, argv: list[str], timeoutMs: int) -> CommandRun:
    channel = call.channel
    filename, fileFormat, escape = argv[2], argv[3], argv[4]
    offset = 0
    beep = False
    if len(argv) > 6:
        scanned = scanInt(argv[6])
        if scanned is not None:
            offset = scanned
        elif "=" not in argv[6]:
            beep = True
    if len(argv) > 7 and "=" not in argv[7]:
        beep = True
    result = 0
    if beep:
        beepSamples = channel.soundSamples("beep")
        if beepSamples is None:
            result = -1
        else:
            played = yield Play(beepSamples, 0, escape, False)
            result = digitResult(played)
    if result:
        call.reply(f"200 result={result} (randomerror) endpos={offset}")
        return SUCCESS
    outcome = yield WaitDigit(timeoutMs if timeoutMs >= 0 else -1, escape, False)
    frames = int(round(outcome.elapsed * 1000)) // FRAME_MS
    endpos = offset + frames * (SAMPLE_RATE * FRAME_MS // 1000)
    if outcome.kind == "hangup":
        channel.recordings.append(Recording(filename, fileFormat, endpos, "hangup"))
        call.reply(f"200 result=-1 (hangup) endpos={endpos}")
        return FAILURE
    if outcome.kind == "digit":
        # Asterisk chops the last 200 ms, which hold the DTMF tone.
        endpos = max(offset, endpos - 200 * SAMPLE_RATE // 1000)
        channel.recordings.append(
            Recording(filename, fileFormat, endpos, "dtmf", outcome.digit)
        )
        call.reply(f"200 result={ord(outcome.digit)} (dtmf) endpos={endpos}")
        return SUCCESS
    channel.recordings.append(Recording(filename, fileFormat, endpos, "timeout"))
    call.reply(f"200 result=0 (timeout) endpos={endpos}")
    return SUCCESS


def _say(call: FakeAGICaller, items: list[str], escape: str, watch: bool) -> CommandRun:
    result = 0
    for item in items:
        outcome = yield Play(call.channel.itemSamples(item), 0, escape, watch)
        if outcome.kind == "control":
            return SUCCESS
        if outcome.kind != "done":
            result = digitResult(outcome)
            break
    call.reply(f"200 result={result}")
    return SUCCESS if result >= 0 else FAILURE


def _numberItems(number: int) -> list[str]:
    """The sound files Asterisk's English ``say number`` plays, roughly."""
    if number < 0:
        return ["digits/minus"] + _numberItems(-number)
    if number < 20:
        return [f"digits/{number if number else 0}"]
    items: list[str] = []
    for size, word in ((1000000000, "billion"), (1000000, "million"), (1000, "thousand")):
        if number >= size:
            items += _numberItems(number // size) + [f"digits/{word}"]
            number %= size
    if number >= 100:
        items += [f"digits/{number // 100}", "digits/hundred"]
        number %= 100
    if number >= 20:
        items.append(f"digits/{number // 10 * 10}")
        number %= 10
    if number:
        items.append(f"digits/{number}")
    return items


def _dateItems(seconds: int) -> list[str]:
    moment = _time.gmtime(seconds)
    return [f"digits/day-{moment.tm_wday}", f"digits/mon-{moment.tm_mon - 1}"] + _numberItems(
        moment.tm_mday
    )


def _timeItems(seconds: int) -> list[str]:
    moment = _time.gmtime(seconds)
    hour = moment.tm_hour % 12 or 12
    items = _numberItems(hour)
    if moment.tm_min == 0:
        items.append("digits/oclock")
    else:
        if moment.tm_min < 10:
            items.append("digits/oh")
        items += _numberItems(moment.tm_min)
    items.append("digits/p-m" if moment.tm_hour >= 12 else "digits/a-m")
    return items


def sayAlpha(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) != 4:
        return SHOWUSAGE
    return _say(call, [f"letters/{c}" for c in argv[2]], argv[3], True)


def sayDate(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) != 4:
        return SHOWUSAGE
    seconds = scanInt(argv[2])
    if seconds is None:
        return SHOWUSAGE
    return _say(call, _dateItems(seconds), argv[3], False)


def sayDatetime(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) < 4:
        return SHOWUSAGE
    seconds = scanInt(argv[2])
    if seconds is None:
        return SHOWUSAGE
    year = _time.gmtime(seconds).tm_year
    items = _dateItems(seconds) + _numberItems(year) + ["digits/at"] + _timeItems(seconds)
    return _say(call, items, argv[3], False)


def sayDigits(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) != 4:
        return SHOWUSAGE
    if scanInt(argv[2]) is None:
        return SHOWUSAGE
    return _say(call, [f"digits/{c}" for c in argv[2]], argv[3], True)


def sayNumber(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if not 4 <= len(argv) <= 5:
        return SHOWUSAGE
    number = scanInt(argv[2])
    if number is None:
        return SHOWUSAGE
    return _say(call, _numberItems(number), argv[3], True)


def sayPhonetic(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) != 4:
        return SHOWUSAGE
    return _say(call, [f"phonetic/{c.lower()}_p" for c in argv[2]], argv[3], True)


def sayTime(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) != 4:
        return SHOWUSAGE
    seconds = scanInt(argv[2])
    if seconds is None:
        return SHOWUSAGE
    return _say(call, _timeItems(seconds), argv[3], False)



def speechRecognize(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) < 4:
        return SHOWUSAGE
    if call.speech is None:
        call.reply("200 result=0")
        return SUCCESS
    return _speechRecognizeRun(call, argv)


def _speechRecognizeRun(call: FakeAGICaller, argv: list[str]) -> CommandRun:
    # The simulated caller never speaks: recognition ends on a digit, on
    # the timeout (counted after the prompt) or on hangup.
    timeoutMs = atoi(argv[3])
    total = call.channel.soundSamples(argv[2])
    outcome = Outcome("done")
    if total is not None:
        offset = atoi(argv[4]) if len(argv) == 5 else 0
        outcome = yield Play(total, min(total, max(0, offset)), ANY_DIGIT, False)
    if outcome.kind == "done":
        outcome = yield WaitDigit(timeoutMs if timeoutMs > 0 else -1, ANY_DIGIT, False)
    if outcome.kind == "digit":
        call.reply(f"200 result=1 (digit) digit={outcome.digit} endpos=0")
    else:
        call.reply(f"200 result=1 ({outcome.kind}) endpos=0")
    return SUCCESS


def streamFile(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if not 4 <= len(argv) <= 5:
        return SHOWUSAGE
    offset = 0
    if len(argv) > 4:
        scanned = scanInt(argv[4])
        if scanned is None:
            return SHOWUSAGE
        offset = scanned
    return _streamFileRun(call, argv, offset)


def _streamFileRun(call: FakeAGICaller, argv: list[str], offset: int) -> CommandRun:
    channel = call.channel
    total = channel.soundSamples(argv[2])
    if total is None:
        channel.setVariable("PLAYBACKSTATUS", "FAILED")
        call.reply(f"200 result=-1 endpos={offset}")
        return FAILURE
    outcome = yield Play(total, max(0, offset), argv[3], True)
    if outcome.kind == "control":
        return SUCCESS
    result = digitResult(outcome)
    channel.setVariable("PLAYBACKSTATUS", "SUCCESS" if result == 0 else "FAILED")
    call.reply(f"200 result={result} endpos={outcome.position}")
    return SUCCESS if result >= 0 else FAILURE



def waitForDigit(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if len(argv) != 4:
        return SHOWUSAGE
    timeoutMs = scanInt(argv[3])
    if timeoutMs is None:
        return SHOWUSAGE
    return _waitForDigitRun(call, timeoutMs)


def _waitForDigitRun(call: FakeAGICaller, timeoutMs: int) -> CommandRun:
    outcome = yield WaitDigit(timeoutMs)
    # New data from the server makes Asterisk's wait return 1.
    result = 1 if outcome.kind == "control" else digitResult(outcome)
    call.reply(f"200 result={result}")
    return SUCCESS if result >= 0 else FAILURE

