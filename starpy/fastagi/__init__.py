"""The FastAGI server: Asterisk connects here from ``AGI(agi://host:4573/script,args)``.

::

    from starpy import fastagi

    async def hello(agi):
        await agi.answer()
        await agi.streamFile("hello-world")
        await agi.hangup()

    factory = fastagi.FastAGIFactory(hello)
    fastagi.listenFastAGI(factory, 4573)          # 127.0.0.1 by default

and in ``extensions.conf``::

    exten => 100,n,AGI(agi://127.0.0.1:4573/hello,arg1)

Each connection is a :class:`FastAGIProtocol`, an
:class:`AGISession <starpy.agi.AGISession>` carrying every AGI command.  Its
``variables`` hold the ``agi_*`` environment (lower-case keys), and
``arguments``, ``scriptPath`` and ``scriptQuery`` the parsed dialplan
arguments and script path.  Commands are sent one at a time; the others
wait in a queue.  :class:`FastAGIRouter` sends each script path to its own
handler.  FastAGI has no authentication: listen on loopback, or give
``allowedClients``.

Accepted connections get TCP keepalive, so the operating system notices
an Asterisk host that vanished; a per-command timeout
(``commandTimeout``, off by default) bounds the wait for each reply.

The package's modules are private: ``_protocol`` (:class:`FastAGIProtocol`),
``_factory`` (:class:`FastAGIFactory`, :class:`FastAGIRouter`) and
``_service`` (:func:`listenFastAGI`, :class:`FastAGIService`).
"""
from __future__ import annotations

from starpy.agi import InSequence, runHandler
from starpy.fastagi._common import log
from starpy.fastagi._factory import FastAGIFactory, FastAGIRouter
from starpy.fastagi._protocol import FastAGIProtocol
from starpy.fastagi._service import DEFAULT_BACKLOG, FastAGIService, listenFastAGI

__all__ = [
    "FastAGIProtocol",
    "FastAGIFactory",
    "FastAGIRouter",
    "FastAGIService",
    "InSequence",
    "listenFastAGI",
    "DEFAULT_BACKLOG",
    "runHandler",
    "log",
]
