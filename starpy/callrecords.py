"""What each AMI event says about a call, as a call record's kind and details.

Pure translation, no state: :func:`fromEvent` turns one event into
``(kind, prefixes, details)``, where *prefixes* name the channel blocks
whose calls the record belongs to.  :class:`CallModel <starpy.calls.CallModel>`
does the bookkeeping (which call, when).

Units are made the same: durations and times in seconds as floats
(``AgentRingNoAnswer`` sends ``RingTime`` in milliseconds, ``AgentConnect``
in seconds; ``DTMFEnd`` sends ``DurationMs``).  Channels are
:class:`Party` tuples; bridges their ``BridgeUniqueid``.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

from starpy.codec.ami import Message

__all__ = ["Party", "fromEvent", "eventParty"]


class Party(NamedTuple):
    """A channel as a record names it: its name and ``Uniqueid`` at the time."""

    name: str
    uniqueid: str


Translated = Tuple[str, Tuple[str, ...], Dict[str, Any]]


def eventParty(event: Message, prefix: str) -> Optional[Party]:
    """The channel block *prefix* of *event* as a :class:`Party` (``None`` if absent)."""
    uniqueid = event.get(prefix + "uniqueid")
    if uniqueid is None:
        return None
    return Party(event.get(prefix + "channel", ""), uniqueid)


def number(value: Optional[str]) -> Optional[int]:
    """An int header value, ``None`` if absent or not a number."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() else None


def _seconds(value: Optional[str], scale: float = 1.0) -> Optional[float]:
    parsed = number(value)
    return None if parsed is None else parsed / scale


def _dial(kind: str) -> Callable[[Message], Translated]:
    def make(event: Message) -> Translated:
        details: Dict[str, Any] = {"caller": eventParty(event, ""),
                                   "dest": eventParty(event, "dest")}
        if kind == "dial":
            details["dialString"] = event.get("dialstring", "")
        else:
            details["status"] = event.get("dialstatus", "")
        return kind, ("", "dest"), details
    return make


def _bridge(kind: str) -> Callable[[Message], Translated]:
    def make(event: Message) -> Translated:
        return kind, ("",), {"channel": eventParty(event, ""),
                             "bridge": event.get("bridgeuniqueid", ""),
                             "bridgeType": event.get("bridgetype", "")}
    return make


def _hold(kind: str) -> Callable[[Message], Translated]:
    def make(event: Message) -> Translated:
        details: Dict[str, Any] = {"channel": eventParty(event, "")}
        # Hold names the channel that holds (with the class it plays last);
        # MusicOnHoldStart the channel that hears the music (Class).
        for header in ("musicclass", "class"):
            if header in event:
                details["musicClass"] = event[header]
        return kind, ("",), details
    return make


def _dtmf(event: Message) -> Translated:
    return "dtmf", ("",), {"channel": eventParty(event, ""), "digit": event.get("digit", ""),
                           "direction": event.get("direction", ""),
                           "duration": _seconds(event.get("durationms"), 1000.0)}


def _blindTransfer(event: Message) -> Translated:
    return "blind_transfer", ("transferer", "transferee"), {
        "result": event.get("result", ""),
        "transferer": eventParty(event, "transferer"),
        "transferee": eventParty(event, "transferee"),
        "context": event.get("context", ""), "extension": event.get("extension", ""),
        "bridge": event.get("bridgeuniqueid", ""),
        "isExternal": event.get("isexternal", "").lower() == "yes"}


def _attendedTransfer(event: Message) -> Translated:
    details: Dict[str, Any] = {
        "result": event.get("result", ""),
        "destType": event.get("desttype", ""),
        "transferer": eventParty(event, "origtransferer"),
        "secondTransferer": eventParty(event, "secondtransferer"),
        "transferee": eventParty(event, "transferee"),
        "target": eventParty(event, "transfertarget"),
        "origBridge": event.get("origbridgeuniqueid"),
        "secondBridge": event.get("secondbridgeuniqueid"),
        "destBridge": event.get("destbridgeuniqueid"),
        "isExternal": event.get("isexternal", "").lower() == "yes",
    }
    # DestType App and Link (transfers a channel driver hands over) carry
    # these; only Bridge and Threeway could be captured.
    for key, header in (("destApp", "destapp"), ("destTransferer", "desttransfererchannel"),
                        ("localOne", "localonechannel"), ("localTwo", "localtwochannel")):
        if header in event:
            details[key] = event[header]
    return "attended_transfer", ("origtransferer", "secondtransferer", "transferee",
                                 "transfertarget"), details


_QUEUE_KINDS = {"queuecallerjoin": "queue_join", "queuecallerleave": "queue_leave",
                "queuecallerabandon": "queue_abandon"}


def _queueCaller(event: Message) -> Translated:
    kind = _QUEUE_KINDS[event.get("event", "").lower()]
    details: Dict[str, Any] = {"queue": event.get("queue", ""),
                               "caller": eventParty(event, ""),
                               "position": number(event.get("position"))}
    if "count" in event:
        details["count"] = number(event.get("count"))
    if kind == "queue_abandon":
        details["originalPosition"] = number(event.get("originalposition"))
        details["holdTime"] = _seconds(event.get("holdtime"))
    return kind, ("",), details


_AGENT_KINDS = {"agentcalled": "agent_called", "agentringnoanswer": "agent_ring_no_answer",
                "agentconnect": "agent_connect", "agentcomplete": "agent_complete"}


def _agent(event: Message) -> Translated:
    kind = _AGENT_KINDS[event.get("event", "").lower()]
    details: Dict[str, Any] = {
        "queue": event.get("queue", ""), "caller": eventParty(event, ""),
        "agent": eventParty(event, "dest"), "interface": event.get("interface", ""),
        "memberName": event.get("membername", "")}
    if "ringtime" in event:
        # Milliseconds in AgentRingNoAnswer, seconds in AgentConnect (CALLS.md, flow 4).
        scale = 1000.0 if kind == "agent_ring_no_answer" else 1.0
        details["ringTime"] = _seconds(event.get("ringtime"), scale)
    for key, header in (("holdTime", "holdtime"), ("talkTime", "talktime")):
        if header in event:
            details[key] = _seconds(event.get(header))
    if "reason" in event:
        details["reason"] = event["reason"]
    return kind, ("", "dest"), details


_PARK_KINDS = {"parkedcall": "parked", "unparkedcall": "unparked",
               "parkedcalltimeout": "park_timeout", "parkedcallgiveup": "park_give_up"}


def _park(event: Message) -> Translated:
    kind = _PARK_KINDS[event.get("event", "").lower()]
    details: Dict[str, Any] = {
        "parkee": eventParty(event, "parkee"), "lot": event.get("parkinglot", ""),
        "space": event.get("parkingspace", ""),
        "timeout": number(event.get("parkingtimeout")),
        "duration": number(event.get("parkingduration")),
        "parkerDialString": event.get("parkerdialstring", "")}
    prefixes: Tuple[str, ...] = ("parkee",)
    if kind == "unparked":
        details["retriever"] = eventParty(event, "retriever")
        prefixes = ("parkee", "retriever")
    return kind, prefixes, details


_TRANSLATORS: Dict[str, Callable[[Message], Translated]] = {
    "dialbegin": _dial("dial"),
    "dialend": _dial("dial_end"),
    "bridgeenter": _bridge("bridge_enter"),
    "bridgeleave": _bridge("bridge_leave"),
    "hold": _hold("hold"),
    "unhold": _hold("unhold"),
    "musiconholdstart": _hold("music_start"),
    "musiconholdstop": _hold("music_stop"),
    "dtmfend": _dtmf,
    "blindtransfer": _blindTransfer,
    "attendedtransfer": _attendedTransfer,
}
_TRANSLATORS.update(dict.fromkeys(_QUEUE_KINDS, _queueCaller))
_TRANSLATORS.update(dict.fromkeys(_AGENT_KINDS, _agent))
_TRANSLATORS.update(dict.fromkeys(_PARK_KINDS, _park))


def fromEvent(name: str, event: Message) -> Optional[Translated]:
    """``(kind, prefixes, details)`` for event *name* (lower case), or
    ``None`` if it makes no record by itself."""
    translate = _TRANSLATORS.get(name)
    return translate(event) if translate is not None else None
