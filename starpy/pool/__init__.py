"""AMI connections to several named Asterisk servers, as one Twisted service.

An :class:`AMIPool` keeps one :class:`AMIService <starpy.manager.AMIService>` per
server (each with its own endpoint, credentials and TLS), and is itself a
``twisted.application.service.MultiService``: starting the pool starts every
server's connection, stopping it stops them all, and servers are added and
removed while it runs::

    from starpy import manager, pool

    servers = pool.AMIPool()
    servers.addServer("pbx1", manager.AMIFactory("starpy", "secret"), "pbx1.example.com")
    servers.addServer("pbx2", manager.AMIFactory("starpy", "secret"),
                      "tls:host=pbx2.example.com:port=5039")

    def onHangup(ami, event):            # the same handler as for one server
        print(ami.serverName, event["uniqueid"])

    servers.registerEvent("Hangup", onHangup)
    servers.startService()
    servers.sendAction("pbx2", "Ping", wait=30)   # once pbx2 is logged in and booted

Event registrations on the pool receive every server's events; the protocol
handed to the handler is that server's :class:`AMIProtocol <starpy.manager.AMIProtocol>`,
whose ``serverName`` says which server it is.

Each server has a state (:data:`CONNECTING`, :data:`BOOTING`,
:data:`LOGGED_IN`, :data:`DOWN`, :data:`STOPPED`) with the last error, which
:meth:`AMIPool.status` gives and :meth:`AMIPool.onStateChange` observers
hear of.

Readiness: after each (re)login, an Asterisk that has not sent
``FullyBooted`` yet is still loading its modules.  By default the pool holds
such a server in :data:`BOOTING`, and sends nothing to it through
:meth:`AMIPool.sendAction`, until ``FullyBooted`` arrives or *bootTimeout*
seconds have passed (an AMI user without the ``system`` read class never
receives ``FullyBooted``: the server is then taken as ready after the
timeout, and a warning says why).

The package's modules are private: ``_servers`` (the servers, their states
and the pool) and ``_channels`` (channel tracking over a pool).
"""
from __future__ import annotations

from starpy.error import NoServerReady  # defined there; exported here too
from starpy.pool._channels import PoolChannels
from starpy.pool._servers import (
    BOOTING,
    CONNECTING,
    DEFAULT_BOOT_TIMEOUT,
    DOWN,
    LOGGED_IN,
    STOPPED,
    AMIPool,
    Chooser,
    PoolServer,
    ServerStatus,
    StateObserver,
    log,
)

__all__ = [
    "AMIPool",
    "PoolServer",
    "ServerStatus",
    "NoServerReady",
    "PoolChannels",
    "CONNECTING",
    "BOOTING",
    "LOGGED_IN",
    "DOWN",
    "STOPPED",
    "DEFAULT_BOOT_TIMEOUT",
    "Chooser",
    "StateObserver",
    "log",
]
