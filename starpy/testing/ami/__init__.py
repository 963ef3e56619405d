"""A fake Asterisk Manager Interface server, byte for byte like Asterisk 22.

It is for applications that drive Asterisk over AMI: test them without an
Asterisk, in unit tests (in memory, on a ``task.Clock``; StarPy's pytest
plugin gives one as the ``fakeAMI`` fixture) or over loopback TCP (``starpy
fake`` runs one, to try StarPy's command line and your code)::

    from twisted.internet import task
    from starpy import manager
    from starpy.testing import ami

    clock = task.Clock()
    server = ami.FakeAMIServerFactory(clock=clock)       # users starpy, limited
    client = manager.AMIFactory('starpy', 'starpy-secret', reactor=clock)
    protocol, connection = ami.loginInMemory(server, client)
    d = protocol.ping()
    connection.flush()                                    # move the bytes

    server.emitEvent('Hangup', Channel='PJSIP/100-00000001', privilege='call,all')
    connection.flush()

Over TCP: ``port = server.listen(0, reactor=reactor)`` and log in to
``port.getHost().port``.

To answer differently, or an action the server does not know, script it
with :meth:`FakeAMIServerFactory.script`: a fixed response (header pairs), a
:class:`ListReply` (any action can be a list action), an
:class:`ActionError`, or a callable ``(session, action)`` that returns one of
those (or a Deferred of one), or replies itself through the
:class:`FakeAMIServerProtocol` methods and returns ``None``::

    server.script("QueueSummary", ami.ListReply(
        [{"Event": "QueueSummary", "Queue": "sales", "Available": "2"}],
        "QueueSummaryComplete"))
    server.script("Redirect", ami.ActionError("Redirect failed"))
    server.script("MyAction", [("Message", "done")])

A script replaces the built-in answer until :meth:`unscript
<FakeAMIServerFactory.unscript>`.

What the server answers without scripting follows the captures in
``tests/fixtures`` (Login plain and MD5, the 1 s delay on a failed login,
Ping, CoreSettings, CoreStatus, Command, Getvar/Setvar, the AstDB actions,
Hangup, UserEvent, Originate, CoreShowChannels, Status, ListCommands, Events,
Logoff), including the security events ``SuccessfulAuth`` and
``RequestBadFormat``.  ``BridgeList`` and ``BridgeInfo`` (not captured: as
Asterisk 22's source writes them) list the bridges of the channels'
``bridgeId``.  An Originate that succeeds adds its channel and, before its
reply, sends the ``Newchannel`` (down) and ``Newstate`` (up) events of a
real call, so a :class:`ChannelTracker <starpy.channel.ChannelTracker>` follows it;
``hangupChannel()`` sends its ``Hangup``.  For a captured call's whole
event sequence see :mod:`starpy.testing.replay`.

Every other action that StarPy names
(:data:`starpy.amiactions.CATALOGUE`) has a default answer in Asterisk 22's
words, from the captured call flows or Asterisk's source
(``starpy.testing._amidefaults`` and ``_amiqueues``): Redirect,
BlindTransfer, Atxfer, Bridge, Park and ParkedCalls, the queue actions and
QueueStatus, MixMonitor and StopMixMonitor, PlayDTMF, SendText,
AbsoluteTimeout, ExtensionState(List), DeviceStateList,
MailboxCount/Status, Agents, AgentLogoff, GetConfig, UpdateConfig, Filter
and WaitEvent.  They work on state kept by the factory that a test sets
and reads: ``channels``,
``queues`` (:class:`FakeQueue`), ``parkedCalls()``, ``mailboxes``,
``hints``, ``deviceStates``, ``configs``, ``astdb`` and ``globals`` (see
:class:`FakeAMIServerFactory`).  An action on an unknown channel fails as
Asterisk's does (``No such channel``, ``Channel does not exist: NAME``...);
actions Asterisk 22 does not have answer ``Invalid/unknown command``.  No
call events follow by themselves (a transfer sends no ``BlindTransfer``):
send those with :meth:`FakeAMIServerFactory.emitEvent`.

Events reach a session as Asterisk 22 sends them: the user's read classes
and the session's ``Events``/``EventMask`` classes must hold every class of
the event's ``Privilege``, and the session's event filters (``Action:
Filter``, legacy or ``MatchCriteria``, or the user's ``manager.conf``
``eventfilter`` lines, :attr:`FakeAMIUser.eventFilters`) must let it
through: see :mod:`starpy.testing._amifilter` for the rules.

A script that raises (or whose Deferred fails) is a bug in the test, not
something Asterisk does: the session sends nothing for that action, and the
failure is logged at ``ERROR`` on the ``starpy.testing.ami`` logger with its
traceback (and kept in :attr:`FakeAMIServerFactory.errors`).  StarPy's own
test suite fails any test that logs such an error unless the test takes it
(``tests/conftest.py``); elsewhere, make your harness fail on ``ERROR``
records of ``starpy`` loggers, or assert that ``errors`` is empty.  An
action that cannot be parsed closes the session, logged at ``ERROR`` too.

The package holds one idea per module: ``_model`` (users, channels, what a
script answers), ``_session`` (one AMI session), ``_builtins`` (the answers
to the captured actions), ``_factory`` (the server's state and sessions) and
``_inmemory`` (connections through :mod:`starpy.testing.memory`).
"""
from __future__ import annotations

from starpy.testing._amiqueues import FakeParkedCall, FakeQueue, FakeQueueMember
from starpy.testing.ami._factory import FakeAMIServerFactory
from starpy.testing.ami._inmemory import MemoryEndpoint, connectInMemory, loginInMemory
from starpy.testing.ami._model import DEFAULT_USERS, ActionError, FakeAMIUser, FakeChannel, ListReply
from starpy.testing.ami._model import Headers as Headers
from starpy.testing.ami._model import Reply as Reply
from starpy.testing.ami._model import Script as Script
from starpy.testing.ami._session import FakeAMIServerProtocol, log
from starpy.testing.memory import MemoryConnection

__all__ = [
    "ActionError",
    "FakeAMIServerFactory",
    "FakeAMIServerProtocol",
    "FakeAMIUser",
    "FakeChannel",
    "FakeParkedCall",
    "FakeQueue",
    "FakeQueueMember",
    "ListReply",
    "MemoryConnection",
    "Reply",
    "MemoryEndpoint",
    "connectInMemory",
    "loginInMemory",
    "DEFAULT_USERS",
    "log",
]
