"""AsyncAGI: AGI sessions carried over the AMI connection.

A channel that runs ``AGI(agi:async)`` waits for commands sent with
``Action: AGI``; Asterisk announces it with an ``AsyncAGIStart`` event and
reports each command's outcome in an ``AsyncAGIExec`` event.  Here each such
channel becomes an :class:`AsyncAGISession`, an
:class:`AGISession <starpy.agi.AGISession>` with exactly the command API of FastAGI, so
handlers, ``InSequence`` and menus run unchanged::

    from starpy import asyncagi

    async def main(agi):
        await agi.answer()
        await agi.streamFile("hello-world")
        # returning finishes the session: ASYNCAGI BREAK, the dialplan goes on

    dispatcher = asyncagi.AsyncAGIDispatcher(ami, main, context="asyncagi")
    dispatcher.startService()          # registers the AMI event handlers
    ...
    dispatcher.stopService()           # cancels them again

and in ``extensions.conf``::

    exten => 300,1,Answer()
     same => n,AGI(agi:async)

:meth:`AsyncAGIDispatcher.originate` places a call into ``AGI(agi:async)``
and fires with the session of that very call.

How the wire is read (see ``WIRE.md``):

* each command is sent with a fresh ``CommandID``; it completes on the
  ``AsyncAGIExec`` event carrying that id (as ``CommandId``, the last
  header), whose URL-decoded ``Result`` is parsed by the AGI codec
  (:func:`starpy.codec.agi.parseReplyText`: multi-line 520 usage, ``100
  Trying`` then ``200`` for GOSUB).  ``AGIExecStart``/``AGIExecEnd`` carry an
  id of Asterisk's own and are ignored;
* one command is in flight per channel; the others wait in order;
* ``Response: Error`` to ``Action: AGI`` fails the command with
  :class:`AsyncAGIRejected` carrying Asterisk's message;
* ``AsyncAGIEnd``, the channel's ``Hangup``, or the loss of the AMI
  connection ends the session: commands still waiting fail with
  :class:`AGIHangup <starpy.error.AGIHangup>`; ``HangupRequest`` (which Asterisk sends
  before ``AsyncAGIEnd`` when the channel hangs up) marks it hung up;
* the Asterisk 11 form (``Event: AsyncAGI`` with ``SubEvent: Start``,
  ``Exec`` or ``End``) is understood too.

Every AMI client logged in with the ``agi`` read class sees every
``AsyncAGIStart``: give each dispatcher its own *context*/*extension* so
that only one of them runs a handler for a channel.

The package's modules are private: ``_session`` (:class:`AsyncAGISession`),
``_dispatcher`` (:class:`AsyncAGIDispatcher`) and ``_common`` (the limits and
the originate data they share).
"""
from __future__ import annotations

from starpy.agi import Handler
from starpy.asyncagi._common import (
    EVENTS,
    MAX_ORIGINATE_ARGUMENTS,
    ORIGINATE_ARGUMENTS_BUDGET,
    log,
)
from starpy.asyncagi._dispatcher import AsyncAGIDispatcher
from starpy.asyncagi._session import AsyncAGISession
from starpy.error import AsyncAGIRejected  # defined there; exported here too

__all__ = [
    "MAX_ORIGINATE_ARGUMENTS",
    "ORIGINATE_ARGUMENTS_BUDGET",
    "AsyncAGISession",
    "AsyncAGIDispatcher",
    "AsyncAGIRejected",
    "Handler",
    "EVENTS",
    "log",
]
