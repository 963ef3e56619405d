"""Channel tracking over an AMI pool (private: ``starpy.pool`` re-exports it)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from twisted.application import service

from starpy.dispatch import Handle
from starpy.manager import AMIService
from starpy.pool._servers import AMIPool


class PoolChannels(service.Service):
    """Channel tracking over an :class:`AMIPool <starpy.pool.AMIPool>`: one
    :class:`ChannelTracker <starpy.channel.ChannelTracker>` per server (each rebuilt after
    every login of its server), channels and calls keyed by ``(server,
    Uniqueid)`` and ``(server, Linkedid)``, so that two servers' identifiers
    never collide.  Servers added to the pool later get a tracker, removed
    ones lose theirs.

    A Twisted service, like the pool: ``setServiceParent(application)``, or
    :meth:`start`/:meth:`stop` (``startService``/``stopService``).

    :param pool: the pool.
    :param trackerFactory: makes a tracker from a server's
        :class:`AMIService <starpy.manager.AMIService>` (default
        :class:`ChannelTracker <starpy.channel.ChannelTracker>`).
    """

    def __init__(self, pool: AMIPool,
                 trackerFactory: Optional[Callable[[AMIService], Any]] = None) -> None:
        if trackerFactory is None:
            from starpy.channel import ChannelTracker

            trackerFactory = ChannelTracker
        self.pool = pool
        self._make = trackerFactory
        self.trackers: Dict[str, Any] = {}
        self._handle: Optional[Handle] = None

    def startService(self) -> None:
        """Start a tracker for each server, and follow the pool's changes."""
        service.Service.startService(self)
        if self._handle is None:
            self._handle = self.pool.onStateChange(lambda status, previous: self._sync())
            self._sync()

    def stopService(self) -> None:
        """Stop every tracker (see :meth:`ChannelTracker.stopService
        <starpy.channel.ChannelTracker.stopService>`)."""
        service.Service.stopService(self)
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()
        trackers, self.trackers = self.trackers, {}
        for tracker in trackers.values():
            tracker.stop()

    def start(self) -> None:
        """Start tracking (:meth:`startService`, under its older name); a
        second call does nothing."""
        if not self.running:
            self.startService()

    def stop(self) -> None:
        """Stop tracking (:meth:`stopService`, under its older name)."""
        if self.running:
            self.stopService()

    def _sync(self) -> None:
        names = self.pool.servers()
        for name in names:
            if name not in self.trackers:
                tracker = self._make(self.pool.server(name).amiService)
                self.trackers[name] = tracker
                tracker.start()
        for name in [name for name in self.trackers if name not in names]:
            self.trackers.pop(name).stop()

    def tracker(self, server: str) -> Any:
        """Server *server*'s tracker (:raises KeyError:)."""
        return self.trackers[server]

    def channel(self, server: str, uniqueid: str) -> Any:
        """The live channel *uniqueid* of *server*, or ``None``."""
        tracker = self.trackers.get(server)
        return None if tracker is None else tracker.channel(uniqueid)

    @property
    def channels(self) -> Dict[Any, Any]:
        """Every live channel, by ``(server, Uniqueid)`` (a new dict)."""
        return {(name, uniqueid): channel for name, tracker in self.trackers.items()
                for uniqueid, channel in tracker.channels.items()}

    @property
    def calls(self) -> Dict[Any, Any]:
        """Every call, by ``(server, Linkedid)`` (a new dict)."""
        return {(name, linkedid): call for name, tracker in self.trackers.items()
                for linkedid, call in tracker.calls.items()}
