"""Replay captured AMI sessions: your call-tracking code without an Asterisk.

A capture is what an Asterisk sent on one AMI connection.  Three formats
are read:

* ``*.txt`` (StarPy's own ``tests/fixtures``, from a real Asterisk 22): one
  wire line per row, ``<time> << b'...'`` (received) or ``<time> >> b'...'``
  (sent), the line as a Python bytes literal after a time in seconds; other
  rows are ignored;
* a StarPy wire trace (``AMIFactory(..., trace=True)`` with the
  ``starpy.wire`` logger at DEBUG written to a file): the ``AMI#<n> <<``
  lines of one connection; with ``%(created)f`` or ``%(asctime)s`` first in
  the log format, the times too;
* ``*.raw`` (or bytes): the exact bytes received, without times.

:func:`readCapture` turns either into :class:`CapturedMessage` objects;
:func:`replay` feeds them to a client (an
:class:`AMIProtocol <starpy.manager.AMIProtocol>`'s ``dataReceived``), advancing a
``task.Clock`` to each message's time; :func:`playEvents` makes a
:class:`FakeAMIServerFactory <starpy.testing.ami.FakeAMIServerFactory>` send a capture's events
to its logged-in sessions at their captured pace::

    from starpy.testing import replay

    flow = replay.readCapture("calls-blind-transfer.txt")
    done = replay.playEvents(server, flow)     # a FakeAMIServerFactory

The capture's responses and its banner are not played by
:func:`playEvents`: the fake answers the client's own actions itself.
"""
from __future__ import annotations

import ast
import datetime
import os
import re
from typing import Any, Callable, Iterable, List, NamedTuple, Optional, Sequence, Union

from twisted.internet.defer import Deferred

from starpy.codec.ami import AMIParser, Message

__all__ = ["CapturedMessage", "readCapture", "parseCapture", "parseTrace", "replay",
           "playEvents", "originateSegment", "scriptOriginate"]

_BANNER = b"Asterisk Call Manager/"


class CapturedMessage(NamedTuple):
    """One message Asterisk sent.

    :ivar time: seconds since the capture began (``0.0`` in a ``.raw``).
    :ivar data: its exact bytes, the closing blank line included.
    :ivar message: the parsed :class:`Message <starpy.codec.ami.Message>`.
    """

    time: float
    data: bytes
    message: Message

    @property
    def isEvent(self) -> bool:
        """Whether it is an event (not a response)."""
        return "event" in self.message


def readCapture(path: Union[str, "os.PathLike[str]"],
                connection: Optional[str] = None) -> List[CapturedMessage]:
    """The messages received in the capture file *path*: the ``.txt`` form,
    a wire trace (the connection named *connection*, such as ``'AMI#3'``,
    default the first one seen), or raw bytes, told apart by the content.

    :raises ValueError: the file is not a capture (a row of a ``.txt`` that
        has a direction but no bytes literal, or bytes that do not parse).
    """
    with open(os.fspath(path), "rb") as f:
        content = f.read()
    if _TEXT_ROW.search(content):
        return parseCapture(content.decode("utf-8"))
    if _TRACE_ROW.search(content):
        return parseTrace(content.decode("utf-8", "surrogateescape"), connection)
    return parseCapture(content)


_TEXT_ROW = re.compile(rb"(?m)^\s*\d+(\.\d+)?\s+(<<|>>)\s+b['\"]")
_TRACE_ROW = re.compile(rb"AMI#\d+ << ")
_TRACE_LINE = re.compile(r"^(?P<head>.*?)(?P<connection>AMI#\d+) << (?P<line>.*)$")
_CREATED = re.compile(r"^\s*(\d{9,}\.\d+)\b")
_ASCTIME = re.compile(r"^\s*(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:[,.](\d+))?")


def parseTrace(trace: str, connection: Optional[str] = None) -> List[CapturedMessage]:
    """The messages one AMI connection received, from a StarPy wire trace.

    Each ``... AMI#<n> << <line>`` row is one line received (an empty
    ``<line>`` ends a message).  A row that starts with the record's
    ``%(created)f`` or ``%(asctime)s`` gives the time, counted from the
    first row of the connection.

    :param connection: which connection (``'AMI#3'``); default the first.
    :raises ValueError: no such connection in the trace.
    """
    timed: List[tuple[float, bytes]] = []
    first: Optional[float] = None
    for row in trace.splitlines():
        found = _TRACE_LINE.match(row)
        if found is None:
            continue
        if connection is None:
            connection = found.group("connection")
        if found.group("connection") != connection:
            continue
        when = _traceTime(found.group("head"))
        if when is not None and first is None:
            first = when
        time = when - first if when is not None and first is not None else 0.0
        line = found.group("line").encode("utf-8", "surrogateescape") + b"\r\n"
        timed.append((time, line))
    if not timed:
        raise ValueError("no lines received by %s in the trace" % (connection or "AMI#<n>",))
    return _messages(timed)


def _traceTime(head: str) -> Optional[float]:
    created = _CREATED.match(head)
    if created is not None:
        return float(created.group(1))
    stamp = _ASCTIME.match(head)
    if stamp is None:
        return None
    parsed = datetime.datetime.strptime(stamp.group(1).replace("T", " "), "%Y-%m-%d %H:%M:%S")
    fraction = float("0." + stamp.group(2)) if stamp.group(2) else 0.0
    return parsed.replace(tzinfo=datetime.timezone.utc).timestamp() + fraction


def parseCapture(capture: Union[str, bytes]) -> List[CapturedMessage]:
    """The messages of a capture given as text (``.txt`` form) or raw bytes."""
    if isinstance(capture, str):
        timed = _textLines(capture)
    else:
        timed = [(0.0, line) for line in capture.splitlines(keepends=True)]
    return _messages(timed)


def _messages(timed: List[tuple[float, bytes]]) -> List[CapturedMessage]:
    messages: List[CapturedMessage] = []
    parser = AMIParser(expectBanner=bool(timed) and timed[0][1].startswith(_BANNER))
    current = b""
    started = 0.0
    for time, line in timed:
        if not current:
            started = time
        current += line
        try:
            parsed = parser.feed(line)
        except ValueError as e:
            raise ValueError("capture does not parse as AMI: %s" % (e,)) from e
        if parser.banner is not None and current.startswith(_BANNER) and not parsed:
            current = b""
            continue
        if not parsed:
            continue
        if len(parsed) != 1:
            raise ValueError("capture line closes %d messages: %r" % (len(parsed), line))
        messages.append(CapturedMessage(started, current, parsed[0]))
        current = b""
    if current.strip():
        raise ValueError("capture ends inside a message: %r" % (current[:80],))
    return messages


def _textLines(text: str) -> List[tuple[float, bytes]]:
    rows: List[tuple[float, bytes]] = []
    for number, row in enumerate(text.splitlines(), 1):
        parts = row.split(None, 2)
        if len(parts) != 3 or parts[1] != "<<":
            continue
        try:
            time = float(parts[0])
            data = ast.literal_eval(parts[2])
        except (ValueError, SyntaxError) as e:
            raise ValueError("capture row %d is not '<time> << b\"...\"': %r" % (number, row)) from e
        if not isinstance(data, bytes):
            raise ValueError("capture row %d holds no bytes literal: %r" % (number, row))
        rows.append((time, data))
    return rows


def replay(messages: Iterable[CapturedMessage], receive: Callable[[bytes], Any],
           clock: Any = None, before: Optional[Callable[[CapturedMessage], Any]] = None) -> int:
    """Feed *messages* to *receive* (e.g. ``protocol.dataReceived``) in order.

    :param clock: a ``task.Clock``: advanced to each message's time
        (relative to the clock's time at the first message) before it is
        fed, so that timers and times taken while following the flow are
        those of the capture; never moved backwards (a shuffled flow keeps
        its clock monotonic).
    :param before: called with each message just before it is fed.
    :return: how many messages were fed.
    """
    count = 0
    offset: Optional[float] = None
    for item in messages:
        if clock is not None:
            if offset is None:
                offset = clock.seconds() - item.time
            delay = item.time + offset - clock.seconds()
            if delay > 0:
                clock.advance(delay)
        if before is not None:
            before(item)
        receive(item.data)
        count += 1
    return count


def playEvents(server: Any, messages: Sequence[CapturedMessage], speed: float = 1.0,
               session: Any = None) -> Deferred[int]:
    """Make a fake Asterisk send the events of a capture, paced as captured.

    :param server: a :class:`FakeAMIServerFactory <starpy.testing.ami.FakeAMIServerFactory>`;
        its ``clock`` paces the events.
    :param messages: from :func:`readCapture` (responses are skipped).
    :param speed: how much faster than captured (``2.0``: twice as fast).
    :param session: one session to send to (default: every logged-in one
        that takes the event's class).
    :return: a Deferred firing with the number of events sent once the
        last one is; cancel it to stop playing.
    :raises ValueError: *speed* is not positive.
    """
    if not speed > 0:
        raise ValueError("speed must be positive, not %r" % (speed,))
    events = [m for m in messages if m.isEvent]
    done: Deferred[int] = Deferred(lambda d: _stop(state))
    state: dict[str, Any] = {"call": None, "sent": 0}
    if not events:
        done.callback(0)
        return done
    clock = server.clock
    first = events[0].time
    began = clock.seconds()

    def send(index: int) -> None:
        state["call"] = None
        item = events[index]
        state["sent"] += server.emitEvent(item.message.headers(), session=session) and 1
        if index + 1 == len(events):
            done.callback(state["sent"])
            return
        due = began + (events[index + 1].time - first) / speed
        state["call"] = clock.callLater(max(0.0, due - clock.seconds()), send, index + 1)

    state["call"] = clock.callLater(0, send, 0)
    return done


def _stop(state: dict[str, Any]) -> None:
    call = state.get("call")
    if call is not None and call.active():
        call.cancel()
    state["call"] = None


def originateSegment(messages: Sequence[CapturedMessage], actionID: str) -> List[CapturedMessage]:
    """The events that followed the Originate with *actionID* in a capture:
    from its response up to the next response to another action (its own
    ``OriginateResponse`` included wherever it came)."""
    start: Optional[int] = None
    segment: List[CapturedMessage] = []
    for index, item in enumerate(messages):
        message = item.message
        if start is None:
            if not item.isEvent and message.get("actionid") == actionID:
                start = index
            continue
        if not item.isEvent and message.get("actionid") != actionID:
            break
        if item.isEvent:
            segment.append(item)
    if start is None:
        raise ValueError("no response to ActionID %r in the capture" % (actionID,))
    return segment


def scriptOriginate(server: Any, segment: Sequence[CapturedMessage], speed: float = 1.0) -> None:
    """Make the fake Asterisk answer every ``Originate`` as the captured one did.

    The reply is ``Originate successfully queued``; then the events of
    *segment* (from :func:`originateSegment`) are played at their captured
    pace, with the captured originated channel's ``Uniqueid`` (and that of a
    Local channel's other half) replaced by the action's ``ChannelId`` and
    ``OtherChannelId`` (fresh ones when not given) and the
    ``OriginateResponse`` carrying the action's ``ActionID``.

    :raises ValueError: *segment* has no ``OriginateResponse``.
    """
    responses = [m for m in segment if m.message.get("event", "").lower() == "originateresponse"]
    if not responses:
        raise ValueError("the segment has no OriginateResponse")
    first = responses[0].message.get("uniqueid", "")
    other = next((m.message.get("uniqueid", "") for m in segment
                  if m.message.get("event", "").lower() == "newchannel"
                  and m.message.get("linkedid") == first
                  and m.message.get("uniqueid") != first
                  and m.message.get("channel", "").endswith(";2")), None)

    def originate(session: Any, action: Message) -> None:
        session.respond(action, [("Message", "Originate successfully queued")])
        ids = {first: action.get("channelid") or server.newUniqueid()}
        if other:
            ids[other] = action.get("otherchannelid") or server.newUniqueid()
        actionID = action.get("actionid")
        rewritten: List[CapturedMessage] = []
        for item in segment:
            pairs = []
            for name, value in item.message.headers():
                if name.lower() == "actionid":
                    if actionID is None:
                        continue
                    value = actionID
                pairs.append((name, ids.get(value, value)))
            rewritten.append(CapturedMessage(item.time, b"", Message(pairs)))
        playEvents(server, rewritten, speed, session)

    server.script("Originate", originate)
