"""The table of the 47 AGI commands, and those that neither play nor wait
(argument counts and replies as in res_agi.c).

Private to :mod:`starpy.testing.agi`, which re-exports the public names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starpy.testing._cscan import scanFloat, scanInt
from starpy.testing.agi._channel import STATE_UP
from starpy.testing.agi._media import (
    controlStreamFile,
    getData,
    getOption,
    receiveChar,
    receiveText,
    recordFile,
    sayAlpha,
    sayDate,
    sayDatetime,
    sayDigits,
    sayNumber,
    sayPhonetic,
    sayTime,
    speechRecognize,
    streamFile,
    waitForDigit,
)
from starpy.testing.agi._waits import FAILURE, SHOWUSAGE, SUCCESS, Command, CommandRun, Handler, Sleep

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.agi._caller import FakeAGICaller

# ---------------------------------------------------------------------------
# The 47 commands (argument counts and replies as in res_agi.c)


def findCommand(argv: list[str]) -> Command | None:
    lowered = [a.encode("utf-8", "surrogateescape").lower() for a in argv]
    for command in AGI_COMMANDS:
        words = command.words
        if len(lowered) >= len(words) and all(
            lowered[i] == w.lower().encode() for i, w in enumerate(words)
        ):
            return command
    return None


def _answer(call: FakeAGICaller, argv: list[str]) -> int:
    call.channel.state = STATE_UP
    call.reply("200 result=0")
    return SUCCESS


def _asyncagiBreak(call: FakeAGICaller, argv: list[str]) -> int:
    call.reply("200 result=0")
    return SUCCESS


def _channelStatus(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) == 2:
        call.reply(f"200 result={call.channel.state}")
    elif len(argv) == 3:
        state = call.channel.channelState(argv[2])
        call.reply(f"200 result={-1 if state is None else state}")
    else:
        return SHOWUSAGE
    return SUCCESS


def _databaseDel(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 4:
        return SHOWUSAGE
    deleted = call.channel.database.delete(argv[2], argv[3])
    call.reply(f"200 result={1 if deleted else 0}")
    return SUCCESS


def _databaseDeltree(call: FakeAGICaller, argv: list[str]) -> int:
    if not 3 <= len(argv) <= 4:
        return SHOWUSAGE
    count = call.channel.database.deleteTree(argv[2], argv[3] if len(argv) == 4 else None)
    call.reply(f"200 result={1 if count > 0 else 0}")
    return SUCCESS


def _databaseGet(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 4:
        return SHOWUSAGE
    value = call.channel.database.get(argv[2], argv[3])
    call.reply("200 result=0" if value is None else f"200 result=1 ({value})")
    return SUCCESS


def _databasePut(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 5:
        return SHOWUSAGE
    call.channel.database.put(argv[2], argv[3], argv[4])
    call.reply("200 result=1")
    return SUCCESS


def _exec(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) < 2:
        return SHOWUSAGE
    apps = {name.lower(): app for name, app in call.channel.applications.items()}
    app = apps.get(argv[1].lower())
    if app is None:
        result = -2
    else:
        result = app(call.channel, argv[2] if len(argv) > 2 else "")
    call.reply(f"200 result={result}")
    # res_agi returns the application's result as the handler's status.
    return result


def _getFullVariable(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        return SHOWUSAGE
    if len(argv) == 5 and call.channel.channelState(argv[4]) is None:
        call.reply("200 result=0")
        return SUCCESS
    call.reply(f"200 result=1 ({call.channel.substitute(argv[3])})")
    return SUCCESS


def _getVariable(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return SHOWUSAGE
    value = call.channel.getVariable(argv[2])
    call.reply("200 result=0" if value is None else f"200 result=1 ({value})")
    return SUCCESS


def _gosub(call: FakeAGICaller, argv: list[str]) -> int | CommandRun:
    if not 4 <= len(argv) <= 5:
        return SHOWUSAGE
    return _gosubRun(call, argv)


def _gosubRun(call: FakeAGICaller, argv: list[str]) -> CommandRun:
    channel = call.channel
    priority = scanInt(argv[3])
    subroutine = None
    if priority is not None and priority >= 1:
        subroutine = channel.subroutines.get((argv[1], argv[2], priority))
    if subroutine is None:
        call.reply("200 result=-1 Gosub label not found")
        return FAILURE
    call.reply("100 result=0 Trying...")
    if channel.gosubDuration > 0:
        yield Sleep(channel.gosubDuration)
    arguments = argv[4].split(",") if len(argv) == 5 else []
    returned = subroutine(channel, arguments)
    channel.setVariable("GOSUB_RETVAL", "" if returned is None else returned)
    call.reply("200 result=0 Gosub complete")
    return SUCCESS


def _hangup(call: FakeAGICaller, argv: list[str]) -> int:
    channel = call.channel
    if len(argv) == 1 or (len(argv) == 2 and argv[1] == channel.name):
        call.reply("200 result=1")
        channel.hungUp = True
        return SUCCESS
    if len(argv) == 2:
        if channel.otherChannels.pop(argv[1], None) is None:
            call.reply("200 result=-1")
        else:
            call.reply("200 result=1")
        return SUCCESS
    return SHOWUSAGE


def _noop(call: FakeAGICaller, argv: list[str]) -> int:
    call.reply("200 result=0")
    return SUCCESS


def _sendImage(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return SHOWUSAGE
    call.reply("200 result=0")
    return SUCCESS


def _sendText(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return SHOWUSAGE
    call.channel.sentTexts.append(argv[2])
    call.reply("200 result=0")
    return SUCCESS


def _setAutohangup(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return SHOWUSAGE
    seconds = scanFloat(argv[2])
    if seconds is None:
        return SHOWUSAGE
    if call.autoHangup is not None and call.autoHangup.active():
        call.autoHangup.cancel()
    call.autoHangup = None
    if seconds > 0:
        call.autoHangup = call.clock.callLater(seconds, _autoHangupFires, call)
    call.reply("200 result=0")
    return SUCCESS


def _autoHangupFires(call: FakeAGICaller) -> None:
    call.autoHangup = None
    if not call.channel.hungUp:
        call.note("SET AUTOHANGUP time reached: the channel hangs up")
        call.channel.hangup()


def _parseCallerId(text: str) -> tuple[str, str]:
    """(name, number) as Asterisk's callerid parser reads ``"Name" <num>``."""
    if "<" in text:
        name, _, rest = text.partition("<")
        number = rest.partition(">")[0]
        name = name.strip().strip('"').strip()
    else:
        stripped = text.strip().strip('"')
        if stripped and all(c in "0123456789+*#()-. " for c in stripped):
            name, number = "", stripped
        else:
            name, number = stripped, ""
    number = "".join(c for c in number if c not in "()-. ")
    return name, number


def _setCallerid(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) > 2:
        name, number = _parseCallerId(argv[2])
        call.channel.callerId = number
        call.channel.callerIdName = name
    call.reply("200 result=1")
    return SUCCESS


def _setContext(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return SHOWUSAGE
    call.channel.context = argv[2]
    call.reply("200 result=0")
    return SUCCESS


def _setExtension(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return SHOWUSAGE
    call.channel.extension = argv[2]
    call.reply("200 result=0")
    return SUCCESS


def _setMusic(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) < 3:
        return SHOWUSAGE
    if argv[2][:2].lower() == "on":
        call.channel.musicClass = argv[3] if len(argv) > 3 else "default"
    elif argv[2][:3].lower() == "off":
        call.channel.musicClass = None
    call.reply("200 result=0")
    return SUCCESS


def _setPriority(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return SHOWUSAGE
    priority = scanInt(argv[2])
    if priority is None:
        return SHOWUSAGE
    call.channel.priority = priority
    call.reply("200 result=0")
    return SUCCESS


def _setVariable(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 4:
        return SHOWUSAGE
    call.channel.setVariable(argv[2], argv[3])
    call.reply("200 result=1")
    return SUCCESS


def _speechCreate(call: FakeAGICaller, argv: list[str]) -> int:
    engines = call.channel.speechEngines
    engine = argv[2] if len(argv) > 2 else None
    if call.speech is not None or not engines or (engine is not None and engine not in engines):
        call.reply("200 result=0")
        return SUCCESS
    call.speech = {"engine": engine, "grammars": {}, "active": set(), "settings": {}}
    call.reply("200 result=1")
    return SUCCESS


def _speechSet(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 4:
        return SHOWUSAGE
    if call.speech is None:
        call.reply("200 result=0")
        return SUCCESS
    settings = call.speech["settings"]
    assert isinstance(settings, dict)
    settings[argv[2]] = argv[3]
    call.reply("200 result=1")
    return SUCCESS


def _speechDestroy(call: FakeAGICaller, argv: list[str]) -> int:
    existed = call.speech is not None
    call.speech = None
    call.reply(f"200 result={1 if existed else 0}")
    return SUCCESS


def _speechGrammar(action: str, argc: int) -> Handler:
    def handler(call: FakeAGICaller, argv: list[str]) -> int:
        if len(argv) != argc:
            return SHOWUSAGE
        speech = call.speech
        if speech is None:
            call.reply("200 result=0")
            return SUCCESS
        grammars = speech["grammars"]
        active = speech["active"]
        assert isinstance(grammars, dict) and isinstance(active, set)
        name = argv[3]
        ok = True
        if action == "load":
            grammars[name] = argv[4]
        elif name not in grammars:
            ok = False
        elif action == "unload":
            del grammars[name]
            active.discard(name)
        elif action == "activate":
            active.add(name)
        else:
            active.discard(name)
        call.reply(f"200 result={1 if ok else 0}")
        return SUCCESS

    return handler


def _tddMode(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) != 3:
        return SHOWUSAGE
    # A simulated channel has no TDD: setting the option fails.
    call.reply("200 result=0")
    return SUCCESS


def _verbose(call: FakeAGICaller, argv: list[str]) -> int:
    if len(argv) < 2:
        return SHOWUSAGE
    level = (scanInt(argv[2]) or 0) if len(argv) > 2 else 0
    call.channel.verboseMessages.append((level, argv[1]))
    call.reply("200 result=1")
    return SUCCESS


def _c(words: str, handler: Handler, deadSafe: bool = False) -> Command:
    return Command(tuple(words.split()), handler, deadSafe)


#: The 47 commands, in res_agi's order, with whether they run on a dead
#: (hung up) channel.
AGI_COMMANDS: tuple[Command, ...] = (
    _c("ANSWER", _answer),
    _c("ASYNCAGI BREAK", _asyncagiBreak, True),
    _c("CHANNEL STATUS", _channelStatus),
    _c("DATABASE DEL", _databaseDel, True),
    _c("DATABASE DELTREE", _databaseDeltree, True),
    _c("DATABASE GET", _databaseGet, True),
    _c("DATABASE PUT", _databasePut, True),
    _c("EXEC", _exec, True),
    _c("GET DATA", getData),
    _c("GET FULL VARIABLE", _getFullVariable, True),
    _c("GET OPTION", getOption),
    _c("GET VARIABLE", _getVariable, True),
    _c("GOSUB", _gosub),
    _c("HANGUP", _hangup),
    _c("NOOP", _noop, True),
    _c("RECEIVE CHAR", receiveChar),
    _c("RECEIVE TEXT", receiveText),
    _c("RECORD FILE", recordFile),
    _c("SAY ALPHA", sayAlpha),
    _c("SAY DIGITS", sayDigits),
    _c("SAY NUMBER", sayNumber),
    _c("SAY PHONETIC", sayPhonetic),
    _c("SAY DATE", sayDate),
    _c("SAY TIME", sayTime),
    _c("SAY DATETIME", sayDatetime),
    _c("SEND IMAGE", _sendImage),
    _c("SEND TEXT", _sendText),
    _c("SET AUTOHANGUP", _setAutohangup),
    _c("SET CALLERID", _setCallerid),
    _c("SET CONTEXT", _setContext),
    _c("SET EXTENSION", _setExtension),
    _c("SET MUSIC", _setMusic),
    _c("SET PRIORITY", _setPriority),
    _c("SET VARIABLE", _setVariable, True),
    _c("STREAM FILE", streamFile),
    _c("CONTROL STREAM FILE", controlStreamFile),
    _c("TDD MODE", _tddMode),
    _c("VERBOSE", _verbose, True),
    _c("WAIT FOR DIGIT", waitForDigit),
    _c("SPEECH CREATE", _speechCreate),
    _c("SPEECH SET", _speechSet),
    _c("SPEECH DESTROY", _speechDestroy, True),
    _c("SPEECH LOAD GRAMMAR", _speechGrammar("load", 5)),
    _c("SPEECH UNLOAD GRAMMAR", _speechGrammar("unload", 4), True),
    _c("SPEECH ACTIVATE GRAMMAR", _speechGrammar("activate", 4)),
    _c("SPEECH DEACTIVATE GRAMMAR", _speechGrammar("deactivate", 4)),
    _c("SPEECH RECOGNIZE", speechRecognize),
)

#: Commands that still run after hangup; the others get ``511``.
DEAD_SAFE_COMMANDS: frozenset[str] = frozenset(c.name for c in AGI_COMMANDS if c.deadSafe)


