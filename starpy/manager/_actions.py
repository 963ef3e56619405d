"""The actions of one AMI connection waiting for their replies.

:class:`ActionTable` keeps each :class:`Pending` action by its ActionID,
its deadline (:class:`Deadlines <starpy._deadlines.Deadlines>`: one timer
for every action of the connection), and matches what arrives to it: the
response, the events of a list up to the one that closes it, the event an
action waits for (``OriginateResponse``).  It settles the action's Deferred
with what upstream StarPy gave: the response, an :class:`EventList`, or a
failure.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from starpy import error
from starpy._deadlines import Deadline, Deadlines
from starpy._idioms import notifyListener
from starpy.codec.ami import Message
from starpy.manager._common import log


class EventList(List[Message]):
    """What a list action fires with: ``[response, item, ..., complete]``.

    The same list upstream StarPy gave: the response that opened the list
    first, then the item events in order, then the event that closed it, so
    a list without items still holds two messages.

    :ivar response: the response that opened the list (``self[0]``).
    :ivar complete: the event that closed it (``self[-1]``: ``StatusComplete``,
        ``CoreShowChannelsComplete``...).
    """

    def __init__(self, items: List[Message], response: Message, complete: Message) -> None:
        super().__init__([response])
        self.extend(items)
        self.append(complete)
        self.response = response
        self.complete = complete

    @property
    def events(self) -> List[Message]:
        """The item events alone, without the response and the closing event."""
        return self[1:-1]

    def __repr__(self) -> str:
        return "<EventList of %d events, closed by %s>" % (len(self) - 2, self.complete.get("event"))


class deferredErrorResp(defer.Deferred[Any]):
    """The Deferred of :meth:`AMIProtocol.sendDeferred
    <starpy.manager.AMIProtocol.sendDeferred>` (upstream's name).

    :meth:`registerError` adds a function called with a ``Response: Error``
    reply before the Deferred fires with it.
    """

    _errorRespCallback: Optional[Callable[[Message], Any]] = None

    def registerError(self, function: Callable[[Message], Any]) -> None:
        """Call ``function(response)`` if the reply says ``Response: Error``."""
        self._errorRespCallback = function


WAITING, COLLECTING, AWAITING_EVENT = range(3)


class Pending(Deadline):
    """What the connection remembers of one action until it completes.

    ``done`` (of :class:`Deadline <starpy._deadlines.Deadline>`) is set once
    it is settled; ``deadline`` once it has a timeout.
    """

    __slots__ = ("action", "actionID", "deferred", "state", "response", "items", "early",
                 "expectEvent", "table", "timeout", "stopEvent", "listener", "rawResponse",
                 "plain")

    def __init__(self, action: str, actionID: str, expectEvent: Optional[str],
                 table: "ActionTable", stopEvent: Optional[str] = None,
                 listener: Optional[Callable[[Any], Any]] = None,
                 rawResponse: bool = False) -> None:
        # Deadline's fields set here rather than by its __init__: one call
        # less per action (bench/w2_driver.py, bench/RESULTS.md).
        self.deadline: Optional[float] = None
        self.done = False
        self.action = action
        self.actionID = actionID
        self.table = table
        self.deferred: defer.Deferred[Any] = defer.Deferred(self._cancel)
        self.state = WAITING
        self.response: Optional[Message] = None
        # The events of a list, made when the list opens.
        self.items: Optional[List[Message]] = None
        # Events carrying the ActionID that arrived before the response.
        self.early: Optional[List[Message]] = None
        self.expectEvent = expectEvent.lower() if expectEvent else None
        self.timeout = 0.0
        # Upstream's forms: collect until the event named stopEvent
        # (collectDeferred), tell listener of every message with our ActionID
        # (sendMessage's responseCallback), fire with the response whatever it
        # says (sendDeferred).
        self.stopEvent = stopEvent.lower() if stopEvent else None
        self.listener = listener
        self.rawResponse = rawResponse
        # Waits for its response alone, and tells nobody but its Deferred;
        # false too once events came early or a list opened (so that
        # AMIProtocol.messageReceived tests this flag alone).
        self.plain = expectEvent is None and stopEvent is None and listener is None

    def _cancel(self, deferred: defer.Deferred[Any]) -> None:
        self.table.forget(self)


_newPending = object.__new__


def plainPending(action: str, actionID: str, table: "ActionTable") -> Pending:
    """A :class:`Pending` as ``Pending(action, actionID, None, table)`` makes it.

    A plain function that fills the slots itself: calling the class runs
    ``__init__`` from C, in an evaluation loop of its own, which costs more
    than the stores.  Measured with callgrind on bench/w2_driver.py
    (bench/RESULTS.md, "W2 with 100 in flight").
    """
    entry: Pending = _newPending(Pending)
    entry.deadline = None
    entry.done = False
    entry.action = action
    entry.actionID = actionID
    entry.table = table
    entry.deferred = defer.Deferred(entry._cancel)
    entry.state = WAITING
    entry.response = None
    entry.items = None
    entry.early = None
    entry.expectEvent = None
    entry.timeout = 0.0
    entry.stopEvent = None
    entry.listener = None
    entry.rawResponse = False
    entry.plain = True
    return entry


class ActionTable:
    """The actions of one connection awaiting their replies, by ActionID.

    :param clock: the clock of the deadlines.
    :param defaultTimeout: the connection's usual timeout (its actions take
        the deadlines' FIFO).
    :param dispatch: gives an event to the connection's event handlers (an
        event that carried an ActionID but turned out not to belong to the
        action).

    The connection puts each action it sends into :attr:`pending` and, with
    its timeout, into :attr:`deadlines`; the table takes it out when it is
    settled.
    """

    def __init__(self, clock: IReactorTime, defaultTimeout: Optional[float],
                 dispatch: Callable[[Message], object]) -> None:
        #: ActionID -> the action waiting for its reply, oldest first.
        self.pending: Dict[str, Pending] = {}
        self.deadlines: Deadlines[Pending] = Deadlines(
            clock, self._expired, self.pending.__len__, defaultTimeout)
        self._dispatch = dispatch

    def failAll(self, reason: Callable[[str], BaseException]) -> None:
        """Fail every pending action with ``reason(action)``; forget them."""
        self.deadlines.clear()
        entries = list(self.pending.values())
        self.pending.clear()
        for entry in entries:
            entry.done = True
            entry.deferred.errback(reason(entry.action))

    def response(self, entry: Pending, response: Message) -> None:
        """The response carrying the ActionID of *entry* arrived."""
        if entry.state != WAITING:
            log.warning("AMI: second response for %s dropped: %r", entry.action, response)
            return
        entry.response = response
        status = response["response"]
        if entry.listener is not None:
            self._tell(entry, response)
        if entry.rawResponse:
            # sendDeferred: the first reply is the result, whatever it says;
            # what follows it (a list's events) goes to the event handlers.
            self.finish(entry, response)
            self._dispatchEarly(entry)
            return
        if status == "Error" or (status != "Success" and status.lower() == "error"):
            self.finish(entry, Failure(error.AMICommandFailure(
                entry.action, response.get("message", ""), response)))
            # Events that carried this ActionID while we waited are still events.
            self._dispatchEarly(entry)
            return
        eventList = response.get("eventlist")
        if entry.stopEvent is not None or (eventList is not None and eventList.lower() == "start"):
            entry.state = COLLECTING
            entry.plain = False
        elif entry.expectEvent is not None:
            entry.state = AWAITING_EVENT
        else:
            self.finish(entry, response)
        if entry.early is None:
            return
        early, entry.early = entry.early, None
        for event in early:
            if entry.state == WAITING or not self.event(entry, event):
                self._dispatch(event)

    def _dispatchEarly(self, entry: Pending) -> None:
        early, entry.early = entry.early, None
        for event in early or ():
            self._dispatch(event)

    def event(self, entry: Pending, event: Message) -> bool:
        """Give *event* (carrying the ActionID of *entry*) to the action;
        true if the action consumed it."""
        if entry.state == WAITING:
            if entry.early is None:
                entry.early = []
                entry.plain = False
            entry.early.append(event)
            return True
        if entry.state == COLLECTING:
            if entry.listener is not None:
                self._tell(entry, event)
            last = event.get("eventlist", "").lower() == "complete" or (
                entry.stopEvent is not None and event["event"].lower() == entry.stopEvent)
            if last:
                assert entry.response is not None
                self.finish(entry, EventList(entry.items or [], entry.response, event))
            elif entry.items is None:
                entry.items = [event]
            else:
                entry.items.append(event)
            return True
        if entry.state == AWAITING_EVENT and event["event"].lower() == entry.expectEvent:
            if entry.listener is not None:
                self._tell(entry, event)
            if event.get("response", "").lower() == "success":
                self.finish(entry, event)
            else:
                reason = event.get("reason", "")
                self.finish(entry, Failure(error.AMIOriginateFailure(
                    entry.action, event.get("response", "Failure"), event,
                    int(reason) if reason.lstrip("-").isdigit() else None)))
        return False

    def _tell(self, entry: Pending, message: Any) -> None:
        """Give *message* to the entry's ``responseCallback`` (sendMessage)."""
        assert entry.listener is not None
        notifyListener(log, "AMI responseCallback of %s" % (entry.action,), entry.listener,
                       message)

    def forget(self, entry: Pending) -> None:
        """Stop waiting for the reply to *entry* (settled, or cancelled)."""
        entry.done = True
        pending = self.pending
        if pending.get(entry.actionID) is entry:
            del pending[entry.actionID]
        if not pending:
            self.deadlines.clear()

    def finish(self, entry: Pending, result: Any) -> None:
        """Forget *entry* and fire its Deferred with *result* (a Failure fails it)."""
        entry.done = True
        pending = self.pending
        if pending.get(entry.actionID) is entry:
            del pending[entry.actionID]
        if isinstance(result, Failure):
            entry.deferred.errback(result)
        else:
            entry.deferred.callback(result)
        # Once its callbacks ran: they usually send the next action, which
        # then keeps the timer (see AMIProtocol.messageReceived).
        if not pending:
            self.deadlines.clear()

    def _expired(self, entry: Pending) -> None:
        self.finish(entry, Failure(error.AMITimeout(entry.action, entry.timeout)))
