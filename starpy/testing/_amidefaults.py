"""Default answers of the fake AMI server to the actions StarPy names.

Each handler answers as Asterisk 22 does (the texts of its responses, the
order of the headers, the list actions' events), from the state the fake
keeps on its factory: channels, queues, parked calls, mailboxes, hints,
device states and configuration files.  What a handler cannot know (a
transfer's effect on a real call, the audio of a recording) is not
simulated: the answer is Asterisk's, and the events that would follow are
left to the test (:meth:`emitEvent <starpy.testing.ami.FakeAMIServerFactory.emitEvent>`).

:data:`DEFAULT_ACTIONS` maps the lower-case action name to its handler
``handler(session, action)``; the session's built-in answers
(``starpy.testing.ami._builtins``) come first, and a script replaces both.
This module answers the channel, mailbox, hint, device, session and
configuration actions; ``starpy.testing._amiqueues`` those of queues,
agents and parking (its state classes are re-exported here), and both
read actions with ``starpy.testing._amianswers``.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from twisted.internet import defer

from starpy.codec.ami import Message
from starpy.testing._amianswers import (
    Handler,
    Pairs,
    channelOrError,
    deviceOf,
    header,
    missing,
    respondRaw,
)
from starpy.testing._amifilter import FilterError, parseFilter
from starpy.testing._amiqueues import (
    DEVICE_STATES,
    FakeParkedCall,
    FakeQueue,
    FakeQueueMember,
    agentLogoff,
    agents,
    park,
    parkedCalls,
    queueAdd,
    queueLog,
    queuePause,
    queuePenalty,
    queueRemove,
    queueStatus,
)
from starpy.testing._cscan import scanInt

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.ami import FakeAMIServerProtocol

__all__ = ["DEFAULT_ACTIONS", "FakeParkedCall", "FakeQueue", "FakeQueueMember",
           "DEVICE_STATES", "EXTENSION_STATES"]

# Device state -> extension state (a hint's Status), as Asterisk maps them.
_EXTENSION_STATE = {
    "UNKNOWN": 0, "NOT_INUSE": 0, "INUSE": 1, "BUSY": 2, "INVALID": 4,
    "UNAVAILABLE": 4, "RINGING": 8, "RINGINUSE": 9, "ONHOLD": 16,
}

EXTENSION_STATES: Dict[int, str] = {
    0: "Idle", 1: "InUse", 2: "Busy", 4: "Unavailable", 8: "Ringing",
    9: "InUse&Ringing", 16: "Hold", 17: "InUse&Hold",
}
"""A hint's ``Status`` number -> its ``StatusText`` (anything else: ``Unknown``)."""


# -- channels ----------------------------------------------------------------


def absoluteTimeout(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("Channel", "No channel specified")):
        return
    try:
        seconds = float(header(action, "Timeout") or "0")
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        session.respondError(action, "No timeout specified")
        return
    channel = channelOrError(session, action, "Channel", "No channel specified", "No such channel")
    if channel is not None:  # the fake does not hang the channel up later
        session.respond(action, [("Message", "Timeout Set")])


def redirect(session: "FakeAMIServerProtocol", action: Message) -> None:
    name, extra = header(action, "Channel"), header(action, "ExtraChannel")
    if missing(session, action, ("Channel", "Channel not specified"),
               ("Context", "Context not specified"), ("Exten", "Exten not specified"),
               ("Priority", "Priority not specified")):
        return
    priority = scanInt(header(action, "Priority"))
    if priority is None or priority < 1:
        session.respondError(action, "Priority is invalid")
        return
    extraPriority = priority
    if extra and header(action, "ExtraContext"):
        if missing(session, action, ("ExtraExten", "ExtraExten not specified"),
                   ("ExtraPriority", "ExtraPriority not specified")):
            return
        found = scanInt(header(action, "ExtraPriority"))
        if found is None or found < 1:
            session.respondError(action, "ExtraPriority is invalid")
            return
        extraPriority = found
    channels = session.factory.channels
    channel = channels.get(name)
    if channel is None:
        session.respondError(action, "Channel does not exist: %s" % (name,))
        return
    moves = [(channel, header(action, "Context"), header(action, "Exten"), priority)]
    if extra:
        second = channels.get(extra)
        if second is None:
            session.respondError(action, "ExtraChannel does not exist: %s" % (extra,))
            return
        if header(action, "ExtraContext"):
            moves.append((second, header(action, "ExtraContext"), header(action, "ExtraExten"),
                          extraPriority))
        else:
            moves.append((second, moves[0][1], moves[0][2], priority))
    for target, context, exten, where in moves:
        target.context, target.exten, target.priority = context, exten, where
        target.bridgeId = ""
    session.respond(action, [("Message", "Dual Redirect successful" if extra
                              else "Redirect successful")])


def blindTransfer(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("Channel", "No channel specified"), ("Exten", "No extension specified")):
        return
    channel = channelOrError(session, action, "Channel", "No channel specified",
                             "Channel specified does not exist")
    if channel is None:
        return
    if not channel.bridgeId:  # Asterisk can only transfer a bridged channel
        session.respondError(action, "Transfer invalid")
        return
    session.respond(action, [("Message", "Transfer succeeded")])


def atxfer(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("Channel", "No channel specified"), ("Exten", "No extension specified")):
        return
    channel = channelOrError(session, action, "Channel", "No channel specified",
                             "Channel specified does not exist")
    if channel is None:
        return
    if not session.factory.atxferCode:
        session.respondError(action, "No attended transfer feature code found")
        return
    if header(action, "Context"):
        channel.variables["TRANSFER_CONTEXT"] = header(action, "Context")
    session.respond(action, [("Message", "Atxfer successfully queued")])


def bridge(session: "FakeAMIServerProtocol", action: Message) -> None:
    first, second = header(action, "Channel1"), header(action, "Channel2")
    if not first or not second:
        session.respondError(action, "Missing channel parameter in request")
        return
    channels = session.factory.channels
    found = []
    for headerName, name in (("Channel1", first), ("Channel2", second)):
        # Asterisk looks the channels up by name prefix.
        channel = channels.get(name) or next(
            (c for n, c in channels.items() if n.startswith(name)), None)
        if channel is None:
            session.respondError(action, "%s does not exist: %s" % (headerName, name))
            return
        found.append(channel)
    bridgeId = session.factory.newBridgeId()
    for channel in found:
        channel.bridgeId = bridgeId
    session.respond(action, [("Message", "Channels have been bridged")])


def playDTMF(session: "FakeAMIServerProtocol", action: Message) -> None:
    if session.factory.channels.get(header(action, "Channel")) is None:
        session.respondError(action, "Channel not found")
        return
    if missing(session, action, ("Digit", "No digit specified")):
        return
    duration = header(action, "Duration")
    if duration and scanInt(duration) is None:
        session.respondError(action, "Could not convert Duration parameter")
        return
    session.respond(action, [("Message", "DTMF successfully queued")])


def sendText(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("Channel", "No channel specified"), ("Message", "No Message specified")):
        return
    if channelOrError(session, action, "Channel", "", "No such channel") is not None:
        session.respond(action, [("Message", "Success")])


def mixMonitor(session: "FakeAMIServerProtocol", action: Message) -> None:
    channel = channelOrError(session, action, "Channel", "No channel specified", "No such channel")
    if channel is None:
        return
    monitorID = "0x%012x" % (session.factory.newCounter(),)
    channel.mixMonitors.append(monitorID)
    pairs: Pairs = []
    # Option i(VARIABLE) stores the recording's id in VARIABLE, which the
    # response then carries.
    variable = re.search(r"i\(([^)]*)\)", header(action, "Options"))
    if variable and variable.group(1):
        channel.variables[variable.group(1)] = monitorID
        pairs.append(("MixMonitorID", monitorID))
    session.respond(action, pairs)


def stopMixMonitor(session: "FakeAMIServerProtocol", action: Message) -> None:
    channel = channelOrError(session, action, "Channel", "No channel specified", "No such channel")
    if channel is None:
        return
    wanted = header(action, "MixMonitorID")
    if not channel.mixMonitors or (wanted and wanted not in channel.mixMonitors):
        session.respondError(action, "Could not stop monitoring channel")
        return
    channel.mixMonitors.remove(wanted or channel.mixMonitors[-1])
    session.respond(action)


# -- mailboxes, hints and devices ----------------------------------------------


def _mailbox(session: "FakeAMIServerProtocol", action: Message) -> Optional[Tuple[str, Tuple[int, int, int]]]:
    mailbox = header(action, "Mailbox")
    if not mailbox:
        session.respondError(action, "Mailbox not specified")
        return None
    return mailbox, session.factory.mailboxes.get(mailbox, (0, 0, 0))


def mailboxStatus(session: "FakeAMIServerProtocol", action: Message) -> None:
    found = _mailbox(session, action)
    if found is not None:
        mailbox, (urgent, new, old) = found
        session.respond(action, [("Message", "Mailbox Status"), ("Mailbox", mailbox),
                                 ("Waiting", "1" if urgent or new else "0")])


def mailboxCount(session: "FakeAMIServerProtocol", action: Message) -> None:
    found = _mailbox(session, action)
    if found is not None:
        mailbox, (urgent, new, old) = found
        session.respond(action, [("Message", "Mailbox Message Count"), ("Mailbox", mailbox),
                                 ("UrgMessages", str(urgent)), ("NewMessages", str(new)),
                                 ("OldMessages", str(old))])


def _hintState(session: "FakeAMIServerProtocol", hint: str) -> int:
    states = [_EXTENSION_STATE.get(session.factory.deviceState(device), 4)
              for device in hint.split("&") if device]
    if not states:
        return 4
    return 1 if 1 in states else max(states)


def extensionState(session: "FakeAMIServerProtocol", action: Message) -> None:
    exten = header(action, "Exten")
    if not exten:
        session.respondError(action, "Extension not specified")
        return
    context = header(action, "Context") or "default"
    hint = session.factory.hints.get((exten, context))
    status = -1 if hint is None else _hintState(session, hint)
    session.respond(action, [
        ("Message", "Extension Status"), ("Exten", exten), ("Context", context),
        ("Hint", hint or ""), ("Status", str(status)),
        ("StatusText", EXTENSION_STATES.get(status, "Unknown"))])


def extensionStateList(session: "FakeAMIServerProtocol", action: Message) -> None:
    hints = session.factory.hints
    if not hints:
        session.respondError(action, "No dialplan hints are available")
        return
    items = []
    for (exten, context), hint in hints.items():
        status = _hintState(session, hint)
        items.append([("Event", "ExtensionStatus"), ("Exten", exten), ("Context", context),
                      ("Hint", hint), ("Status", str(status)),
                      ("StatusText", EXTENSION_STATES.get(status, "Unknown"))])
    session.sendList(action, items, "ExtensionStateListComplete",
                     "Extension Statuses will follow")


def deviceStateList(session: "FakeAMIServerProtocol", action: Message) -> None:
    factory = session.factory
    devices = dict.fromkeys(list(factory.deviceStates) + [deviceOf(n) for n in factory.channels])
    items = [[("Event", "DeviceStateChange"), ("Device", device),
              ("State", factory.deviceState(device))] for device in devices]
    session.sendList(action, items, "DeviceStateListComplete", "Device State Changes will follow")


# -- session -----------------------------------------------------------------


def filterAction(session: "FakeAMIServerProtocol", action: Message) -> None:
    """``Filter``: add an event filter to the session, as Asterisk 22 reads
    it (the rules: :mod:`starpy.testing._amifilter`)."""
    if header(action, "Operation").lower() != "add":
        session.respondError(action, "Unknown operation")
        return
    criteria = header(action, "MatchCriteria")
    try:
        added = parseFilter("eventfilter(%s)" % (criteria,) if criteria else "eventfilter",
                            header(action, "Filter"))
    except FilterError as e:
        session.respondError(action, e.message)
        return
    session.filters.add(added)
    session.respond(action, [("Message", "Success")])


def waitEvent(session: "FakeAMIServerProtocol", action: Message) -> "defer.Deferred[None]":
    timeout = scanInt(header(action, "Timeout"))
    if timeout is None or timeout < -1:
        timeout = -1
    done: defer.Deferred[None] = defer.Deferred()
    held: List[Pairs] = []

    def complete() -> None:
        if done.called:
            return
        session.eventWaiter = None
        session.respond(action, [("Message", "Waiting for Event completed.")])
        for event in held:
            session.write(event)
        closing: Pairs = [("Event", "WaitEventComplete")]
        if action.get("actionid"):
            closing.append(("ActionID", action["actionid"]))
        session.write(closing)
        done.callback(None)

    def onEvent(event: Pairs) -> None:
        held.append(event)
        complete()

    if timeout == 0:
        complete()
        return done
    session.eventWaiter = onEvent
    if timeout > 0:
        session.callLater(timeout, complete)
    return done


# -- configuration files -----------------------------------------------------


def getConfig(session: "FakeAMIServerProtocol", action: Message) -> None:
    filename = header(action, "Filename")
    if not filename:
        session.respondError(action, "Filename not specified")
        return
    config = session.factory.configs.get(filename)
    if config is None:
        session.respondError(action, "Config file not found")
        return
    category, filterText = header(action, "Category"), header(action, "Filter")
    wanted = dict(part.split("=", 1) for part in filterText.split(",") if "=" in part)
    pairs: Pairs = []
    count = 0
    for name, lines in config:
        if category and name != category:
            continue
        if wanted and not all(any(k == key and v == value for k, v in lines)
                              for key, value in wanted.items()):
            continue
        pairs.append(("Category-%06d" % count, name))
        pairs += [("Line-%06d-%06d" % (count, number), "%s=%s" % line)
                  for number, line in enumerate(lines)]
        count += 1
    if category and not count:
        # Asterisk ends this response with a line that has no colon.
        respondRaw(session, action, "Success", b"No categories found\r\n")
        return
    session.respond(action, pairs)


def _configError(kind: str) -> str:
    return {"unknown": "Unknown action command",
            "category": "Given category does not exist",
            "nocategory": "Category not specified",
            "argument": "Problem with category, value, or line (if required)"}[kind]


def updateConfig(session: "FakeAMIServerProtocol", action: Message) -> None:
    source, destination = header(action, "SrcFilename"), header(action, "DstFilename")
    if not source or not destination:
        session.respondError(action, "Filename not specified")
        return
    configs = session.factory.configs
    if source not in configs:
        session.respondError(action, "Config file not found")
        return
    config = [(name, list(lines)) for name, lines in configs[source]]
    for index in range(100000):
        verb = header(action, "Action-%06d" % index)
        if not verb:
            break
        category = header(action, "Cat-%06d" % index)
        variable = header(action, "Var-%06d" % index)
        value = header(action, "Value-%06d" % index)
        match = header(action, "Match-%06d" % index)
        if not category:
            session.respondError(action, _configError("nocategory"))
            return
        verb = verb.lower()
        found = [entry for entry in config if entry[0] == category]
        if verb == "newcat":
            config.append((category, []))
            continue
        if verb not in ("renamecat", "delcat", "emptycat", "update", "delete", "append"):
            session.respondError(action, _configError("unknown"))
            return
        if not found:
            session.respondError(action, _configError("category"))
            return
        if verb == "renamecat":
            if not value:
                session.respondError(action, _configError("argument"))
                return
            config = [(value if entry is found[0] else entry[0], entry[1]) for entry in config]
        elif verb == "delcat":
            config.remove(found[0])
        elif verb == "emptycat":
            del found[0][1][:]
        elif not variable:
            session.respondError(action, _configError("argument"))
            return
        elif verb == "append":
            found[0][1].append((variable, value))
        else:
            lines = found[0][1]
            hits = [i for i, (k, v) in enumerate(lines)
                    if k == variable and (not match or v == match)]
            if verb == "update":
                for i in hits:
                    lines[i] = (variable, value)
                if not hits:
                    lines.append((variable, value))
            else:
                for i in reversed(hits):
                    del lines[i]
    configs[destination] = config
    session.respond(action)


DEFAULT_ACTIONS: Dict[str, Handler] = {
    "absolutetimeout": absoluteTimeout,
    "agentlogoff": agentLogoff,
    "agents": agents,
    "atxfer": atxfer,
    "blindtransfer": blindTransfer,
    "bridge": bridge,
    "devicestatelist": deviceStateList,
    "extensionstate": extensionState,
    "extensionstatelist": extensionStateList,
    "filter": filterAction,
    "getconfig": getConfig,
    "mailboxcount": mailboxCount,
    "mailboxstatus": mailboxStatus,
    "mixmonitor": mixMonitor,
    "park": park,
    "parkedcalls": parkedCalls,
    "playdtmf": playDTMF,
    "queueadd": queueAdd,
    "queuelog": queueLog,
    "queuepause": queuePause,
    "queuepenalty": queuePenalty,
    "queueremove": queueRemove,
    "queuestatus": queueStatus,
    "redirect": redirect,
    "sendtext": sendText,
    "stopmixmonitor": stopMixMonitor,
    "updateconfig": updateConfig,
    "waitevent": waitEvent,
}
"""Lower-case action name -> default handler ``(session, action)``."""
