"""The Asterisk Manager Interface (AMI) client.

Typical use::

    from starpy import manager

    factory = manager.AMIFactory('starpy', 'starpy-secret')
    d = factory.login('127.0.0.1', 5038)        # or 'tls:host=pbx:port=5039'

    def onLogin(ami):
        ami.registerEvent('Hangup', onHangup)    # handler(ami, event)
        return ami.coreShowChannels()             # [response, events..., complete]

Every action returns a Deferred.  It fires with the response
(:class:`Message <starpy.codec.ami.Message>`, a dict with lower-case keys), or, for
list actions (``EventList: start``), with an :class:`EventList`: the
response, the item events and the closing event, as upstream StarPy's lists.
It fails with :class:`AMICommandFailure <starpy.error.AMICommandFailure>` on
``Response: Error``, :class:`AMITimeout <starpy.error.AMITimeout>` after its timeout and
:class:`AMIConnectionLost <starpy.error.AMIConnectionLost>` when the connection goes.

Replies are matched to actions by ActionID, never by arrival order.

The package's parts, each private: ``_actions`` (the actions awaiting their
replies, their deadlines, :class:`EventList`, :class:`deferredErrorResp`),
``_protocol`` (:class:`AMIProtocol`: banner, messages, sending, login,
keepalive), ``_upstream`` (upstream's other sending forms, mixed into the
protocol), ``_factory`` (:class:`AMIFactory`), ``_service``
(:class:`AMIService`) and ``_common`` (the logger and default timeouts).
Import every name from ``starpy.manager``.
"""
from __future__ import annotations

from starpy.codec.ami import Message
from starpy.manager._actions import EventList, deferredErrorResp
from starpy.manager._common import (
    DEFAULT_BOOT_TIMEOUT,
    DEFAULT_LOGIN_TIMEOUT,
    DEFAULT_TIMEOUT,
    log,
)
from starpy.manager._factory import AMIFactory
from starpy.manager._protocol import AMIProtocol
from starpy.manager._service import AMIService

__all__ = [
    "AMIProtocol",
    "AMIFactory",
    "AMIService",
    "EventList",
    "deferredErrorResp",
    "Message",
    "DEFAULT_TIMEOUT",
    "DEFAULT_BOOT_TIMEOUT",
    "DEFAULT_LOGIN_TIMEOUT",
    "log",
]
