"""How an asynchronous Originate ended, by name, and the call it started.

An ``Async: true`` Originate is answered at once (``Originate successfully
queued``); its outcome comes later in an ``OriginateResponse`` event whose
``Reason`` is one of Asterisk's ``AST_CONTROL_*`` numbers.  A real
Asterisk 22 sent these (``calls-originate-outcomes`` in the captures):

====  ==================================  =================
code  what happened                       :func:`outcomeName`
====  ==================================  =================
4     answered (``Response: Success``)    ``'answered'``
5     ``Busy()``                          ``'busy'``
3     rang until the ``Timeout``          ``'no answer'``
8     ``Congestion()``                    ``'congestion'``
0     no such extension / failure         ``'failed'``
1     hung up before answering            ``'hung up'`` (Asterisk's code, not captured)
====  ==================================  =================

:func:`originateCall` sends the Originate with a ``ChannelId`` (made by
:func:`newChannelId` if none is given), times it on the tracker's clock, and fires with the
:class:`Call <starpy.calls.Call>` that the originated channel belongs to, or fails
with :class:`OriginateFailed` naming the outcome.
"""
from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import error
from starpy.codec.ami import Message
from starpy.error import (  # defined there; exported here too
    OUTCOMES,
    OriginateFailed,  # defined there; exported here too
    outcomeName,
)
from starpy.interfaces import currentConnection

if TYPE_CHECKING:  # pragma: no cover
    from starpy.calls import Call
    from starpy.channel import ChannelTracker

__all__ = ["OUTCOMES", "outcomeName", "OriginateFailed", "originateCall", "newChannelId"]

_counter = itertools.count(1)
_prefix = "starpy-%s" % (os.urandom(4).hex(),)


def newChannelId() -> str:
    """A ``ChannelId`` (the ``Uniqueid`` Asterisk gives the channel an
    Originate makes) that no other channel has: ``starpy-<8 random hex
    digits of this process>-<a counter>``, such as ``starpy-9f0c2a1e-17``.
    StarPy makes one whenever it originates a channel it must find again
    and the application gave none."""
    return "%s-%d" % (_prefix, next(_counter))



def originateCall(tracker: "ChannelTracker", channel: str, ami: Any = None,
                  **kwargs: Any) -> Deferred["Call"]:
    """Originate asynchronously and follow the call it makes.

    :param tracker: a started :class:`ChannelTracker <starpy.channel.ChannelTracker>`
        receiving the events of *ami*.
    :param channel: what to call (``'PJSIP/100'``).
    :param ami: the :class:`AMIProtocol <starpy.manager.AMIProtocol>` to send with
        (default: the tracker's, or its service's current protocol).
    :param kwargs: the other arguments of
        :meth:`originate <starpy.manager.AMIProtocol.originate>` (``context``,
        ``exten``, ``priority``, ``application``, ``data``, ``timeout``,
        ``callerid``, ``variable``, ``channelid``/``channelId``,
        ``otherchannelid``...).  The ``channelid`` is made up when not
        given, so the call can be found.

    :return: a Deferred firing with the :class:`Call <starpy.calls.Call>` of the
        originated channel once it answered (its history has an
        ``originate`` record with ``outcome: 'answered'`` and ``seconds``).
        It fails with :class:`OriginateFailed` (an
        :class:`AMIOriginateFailure <starpy.error.AMIOriginateFailure>`) saying the outcome and
        the time it took, or as :meth:`originate <starpy.manager.AMIProtocol.originate>`
        fails otherwise (``AMICommandFailure``, ``AMITimeout``...).
    :raises ValueError: / TypeError: as ``originate()`` does, before
        anything is sent; TypeError too for ``nowait``, ``asynchronous`` or
        ``async_``: this originate is always asynchronous.
    """
    if ami is None:
        ami = currentConnection(tracker.ami)
    if ami is None:
        return defer.fail(error.AMIConnectionLost("Originate", "not logged in"))
    for flag in ("asynchronous", "async_", "nowait"):
        if flag in kwargs:
            raise TypeError("tracker.originate() is always asynchronous (it follows the "
                            "call): drop %s=" % (flag,))
    # Both spellings are checked against each other by originate() itself.
    uniqueid = kwargs.get("channelid") or kwargs.get("channelId")
    if uniqueid is None:
        uniqueid = kwargs["channelid"] = newChannelId()
    clock = tracker.clock
    began = clock.seconds()
    sent: Deferred[Message] = ami.originate(channel, asynchronous=True, **kwargs)

    def answered(response: Message) -> Deferred["Call"]:
        tracker.callModel.noteOriginate(uniqueid, clock.seconds() - began)
        call = tracker.callModel.find(uniqueid)
        if call is not None:
            return defer.succeed(call)
        # OriginateResponse can come before the channel's first event.
        waiting = tracker.whenChannel(uniqueid=uniqueid)

        def found(ignored: Any) -> "Call":
            call = tracker.callModel.find(uniqueid)
            assert call is not None
            return call

        return waiting.addCallback(found)

    def failed(reason: Failure) -> Failure:
        failure = reason.value
        if isinstance(failure, error.AMIOriginateFailure) and not isinstance(
                failure, OriginateFailed):
            seconds = clock.seconds() - began
            tracker.callModel.noteOriginate(uniqueid, seconds)
            raise OriginateFailed(failure.action, failure.message, failure.response,
                                  failure.reason, seconds, uniqueid,
                                  tracker.callModel.find(uniqueid))
        return reason

    return sent.addCallbacks(answered, failed)

