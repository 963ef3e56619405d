"""The fake AMI server's own answers to the actions of the captures: Ping,
CoreSettings, CoreStatus, Command, Getvar/Setvar, the AstDB actions,
Hangup, UserEvent, ListCommands, CoreShowChannels, BridgeList/BridgeInfo,
Status and Originate (the rest of the catalogue is answered by
``starpy.testing._amidefaults``).

Private to :mod:`starpy.testing.ami`.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from twisted.internet import defer

from starpy.codec.ami import Message
from starpy.testing._amianswers import channelOrError, header, missing
from starpy.testing._amidata import ACTIONS
from starpy.testing._cscan import isTrue
from starpy.testing.ami._model import PRIVILEGES, FakeChannel, Pairs, callerID

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.ami._session import FakeAMIServerProtocol

def _ping(session: "FakeAMIServerProtocol", action: Message) -> None:
    session.respond(action, [("Ping", "Pong"),
                          ("Timestamp", "%.6f" % (session.factory.clock.seconds(),))])

def _coresettings(session: "FakeAMIServerProtocol", action: Message) -> None:
    factory = session.factory
    session.respond(action, [
        ("AMIversion", factory.amiVersion), ("AsteriskVersion", factory.asteriskVersion),
        ("SystemName", ""), ("CoreMaxCalls", "0"), ("CoreMaxLoadAvg", "0.000000"),
        ("CoreRunUser", ""), ("CoreRunGroup", ""), ("CoreMaxFilehandles", "0"),
        ("CoreRealTimeEnabled", "No"), ("CoreCDRenabled", "Yes"),
        ("CoreHTTPenabled", "No"), ("SoundsSearchCustomDir", "No")])

def _corestatus(session: "FakeAMIServerProtocol", action: Message) -> None:
    started = time.gmtime(int(session.factory.startTime))
    date, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
    session.respond(action, [
        ("CoreStartupDate", date), ("CoreStartupTime", clock),
        ("CoreReloadDate", date), ("CoreReloadTime", clock),
        ("CoreCurrentCalls", str(len(session.factory.channels))),
        ("CoreProcessedCalls", str(session.factory.processedCalls))])

def _command(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("Command", "No command provided")):
        return
    command = header(action, "Command")
    output = session.factory.cliOutput(command)
    if output is None:
        words = command.split()
        session.respondError(action, "Command output follows", [("Output", (
            "No such command '%s' (type 'core show help %s' for other possible commands)"
            % (command, " ".join(words[:2]))))])
        return
    session.respond(action, [("Message", "Command output follows")]
                 + [("Output", line) for line in output])

def _getvar(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("Variable", "No variable specified")):
        return
    variable = header(action, "Variable")
    if header(action, "Channel"):
        channel = channelOrError(session, action, "Channel", "", "No such channel")
        if channel is None:
            return
        value = channel.variables.get(variable, "")
    else:
        value = session.factory.globals.get(variable, "")
    session.respond(action, [("Variable", variable), ("Value", value)])

def _setvar(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("Variable", "No variable specified")):
        return
    variable, value = header(action, "Variable"), header(action, "Value")
    block: Pairs = [("Channel", "none"), ("Uniqueid", "none")]
    if header(action, "Channel"):
        channel = channelOrError(session, action, "Channel", "", "No such channel")
        if channel is None:
            return
        channel.variables[variable] = value
        block = channel.headers()
    else:
        session.factory.globals[variable] = value
    session.respond(action, [("Message", "Variable Set")])
    session.factory.emitEvent([("Event", "VarSet"), ("Privilege", "dialplan,all")] + block
                           + [("Variable", variable), ("Value", value)])

def _familyKey(session: "FakeAMIServerProtocol", action: Message,
               needKey: bool = True) -> Optional[Tuple[str, str]]:
    if missing(session, action, ("Family", "No family specified.")):
        return None
    if needKey and missing(session, action, ("Key", "No key specified.")):
        return None
    return header(action, "Family"), header(action, "Key")

def _dbput(session: "FakeAMIServerProtocol", action: Message) -> None:
    where = _familyKey(session, action)
    if where is not None:
        session.factory.astdb[where] = action.get("val", "")
        session.respond(action, [("Message", "Updated database successfully")])

def _dbget(session: "FakeAMIServerProtocol", action: Message) -> None:
    where = _familyKey(session, action)
    if where is None:
        return
    if where not in session.factory.astdb:
        session.respondError(action, "Database entry not found")
        return
    session.sendList(action, [[("Event", "DBGetResponse"), ("Family", where[0]),
                            ("Key", where[1]), ("Val", session.factory.astdb[where])]],
                  "DBGetComplete", "Result will follow", actionIDLast=True)

def _dbdel(session: "FakeAMIServerProtocol", action: Message) -> None:
    where = _familyKey(session, action)
    if where is None:
        return
    if session.factory.astdb.pop(where, None) is None:
        session.respondError(action, "Database entry not found")
    else:
        session.respond(action, [("Message", "Key deleted successfully")])

def _dbdeltree(session: "FakeAMIServerProtocol", action: Message) -> None:
    where = _familyKey(session, action, needKey=False)
    if where is None:
        return
    family, key = where
    doomed = [k for k in session.factory.astdb
              if k[0] == family and (not key or k[1] == key or k[1].startswith(key + "/"))]
    if not doomed:
        session.respondError(action, "Database entry not found")
        return
    for k in doomed:
        del session.factory.astdb[k]
    session.respond(action, [("Message", "Key tree deleted successfully")])

def _hangup(session: "FakeAMIServerProtocol", action: Message) -> None:
    channel = channelOrError(session, action, "Channel", "No channel specified",
                             "No such channel")
    if channel is None:
        return
    cause = action.get("cause", "16")
    # C's digits only: "²" and "٣" are no cause to Asterisk's strtol.
    code = int(cause) if cause.isascii() and cause.isdigit() else 16
    session.factory.hangupChannel(channel.name, code)
    session.respond(action, [("Message", "Channel Hungup")])

def _userevent(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("UserEvent", "UserEvent needs a name")):
        return
    name = header(action, "UserEvent")
    event: Pairs = [("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", name)]
    if action.get("actionid") is not None:
        event.append(("ActionID", action["actionid"]))
    event += [(n, v) for n, v in action.headers()
              if n.lower() not in ("action", "actionid", "userevent")]
    session.respond(action, [("Message", "Event Sent")])
    session.factory.emitEvent(event)

def _listcommands(session: "FakeAMIServerProtocol", action: Message) -> None:
    assert session.user is not None
    user = session.user
    session.respond(action, [
        (name, "%s  (Priv: %s)" % (synopsis, privs)) for name, synopsis, privs in ACTIONS
        if user.mayWrite(PRIVILEGES[name.lower()][1]) or "all" in user.write])

def _coreshowchannels(session: "FakeAMIServerProtocol", action: Message) -> None:
    now = session.factory.clock.seconds()
    items = []
    for channel in session.factory.channels.values():
        seconds = max(0, int(now - channel.created))
        items.append([("Event", "CoreShowChannel")] + channel.headers() + [
            ("Application", channel.application), ("ApplicationData", channel.data),
            ("Duration", "%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)),
            ("BridgeId", channel.bridgeId)])
    session.sendList(action, items, "CoreShowChannelsComplete", "Channels will follow")

def _bridgeMembers(session: "FakeAMIServerProtocol") -> Dict[str, List[FakeChannel]]:
    bridges: Dict[str, List[FakeChannel]] = {}
    for channel in session.factory.channels.values():
        if channel.bridgeId:
            bridges.setdefault(channel.bridgeId, []).append(channel)
    return bridges

def _bridgeState(bridgeId: str, members: List[FakeChannel]) -> Pairs:
    return [("BridgeUniqueid", bridgeId), ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge" if len(members) <= 2 else "softmix"),
            ("BridgeCreator", "<unknown>"), ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(len(members))), ("BridgeVideoSourceMode", "none")]

def _bridgelist(session: "FakeAMIServerProtocol", action: Message) -> None:
    items = [[("Event", "BridgeListItem")] + _bridgeState(bridgeId, members)
             for bridgeId, members in _bridgeMembers(session).items()]
    session.sendList(action, items, "BridgeListComplete", "Bridge listing will follow")

def _bridgeinfo(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("BridgeUniqueid", "BridgeUniqueid must be provided")):
        return
    bridgeId = header(action, "BridgeUniqueid")
    members = _bridgeMembers(session).get(bridgeId)
    if members is None:
        session.respondError(action, "Specified BridgeUniqueid not found")
        return
    session.sendList(action, [[("Event", "BridgeInfoChannel")] + c.headers() for c in members],
                  "BridgeInfoComplete", "Bridge channel listing will follow",
                  _bridgeState(bridgeId, members))

def _status(session: "FakeAMIServerProtocol", action: Message) -> None:
    if header(action, "Channel"):
        found = channelOrError(session, action, "Channel", "", "No such channel")
        if found is None:
            return
        channels = [found]
    else:
        channels = list(session.factory.channels.values())
    now = session.factory.clock.seconds()
    items = []
    for channel in channels:
        items.append([("Event", "Status"), ("Privilege", "Call")] + channel.headers() + [
            ("Type", channel.name.split("/", 1)[0]), ("DNID", ""),
            ("EffectiveConnectedLineNum", channel.connectedLineNum),
            ("EffectiveConnectedLineName", channel.connectedLineName),
            ("TimeToHangup", "0"), ("BridgeID", channel.bridgeId),
            ("Application", channel.application), ("Data", channel.data),
            ("Nativeformats", "(slin)"), ("Readformat", "slin"), ("Readtrans", ""),
            ("Writeformat", "slin"), ("Writetrans", ""), ("Callgroup", "0"),
            ("Pickupgroup", "0"), ("Seconds", str(max(0, int(now - channel.created))))])
    session.sendList(action, items, "StatusComplete", "Channel status will follow",
                  [("Items", str(len(items)))], actionIDLast=True)

def _originate(session: "FakeAMIServerProtocol", action: Message) -> Optional[defer.Deferred[None]]:
    factory = session.factory
    if missing(session, action, ("Channel", "Channel not specified")):
        return None
    requested = header(action, "Channel")
    succeeds = factory.originateSucceeds(action)
    channel = factory.originateChannel(action) if succeeds else None
    if not isTrue(action.get("async")):
        if channel is None:
            session.respondError(action, "Originate failed")
        else:
            session.respond(action, [("Message", "Originate successfully queued")])
        return None
    event: Pairs = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
    if action.get("actionid") is not None:
        event.append(("ActionID", action["actionid"]))
    event += [("Response", "Success" if channel else "Failure"),
              ("Channel", channel.name if channel else requested)]
    if action.get("application"):
        event += [("Application", action["application"]), ("Data", action.get("data", ""))]
    else:
        event += [("Context", action.get("context", "")), ("Exten", action.get("exten", ""))]
    number, name = callerID(action.get("callerid"))
    event += [("Reason", "4" if channel else "0"),
              ("Uniqueid", channel.uniqueid if channel else "<unknown>"),
              ("CallerIDNum", number), ("CallerIDName", name)]
    if factory.originateEventsFirst:
        factory.emitEvent(event)
        session.respond(action, [("Message", "Originate successfully queued")])
    else:
        session.respond(action, [("Message", "Originate successfully queued")])
        if factory.originateDelay > 0:
            factory.clock.callLater(factory.originateDelay, factory.emitEvent, event)
        else:
            factory.emitEvent(event)
    return None


#: lower-case action name -> ``answer(session, action)``.
BUILTIN_ACTIONS: Dict[str, Callable[["FakeAMIServerProtocol", Message], Optional["defer.Deferred[Any]"]]] = {
    "ping": _ping,
    "coresettings": _coresettings,
    "corestatus": _corestatus,
    "command": _command,
    "getvar": _getvar,
    "setvar": _setvar,
    "dbput": _dbput,
    "dbget": _dbget,
    "dbdel": _dbdel,
    "dbdeltree": _dbdeltree,
    "hangup": _hangup,
    "userevent": _userevent,
    "listcommands": _listcommands,
    "coreshowchannels": _coreshowchannels,
    "bridgelist": _bridgelist,
    "bridgeinfo": _bridgeinfo,
    "status": _status,
    "originate": _originate,
}
