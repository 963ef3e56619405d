"""The typed signatures of the catalogue's methods (private to StarPy).

:class:`AMIActions <starpy.amiactions.AMIActions>` derives from
:class:`ActionSignatures`, so that type checkers check every call of a named
action; the methods made from the catalogue replace these declarations.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional, TypeAlias, Union

from twisted.internet import defer

from starpy._actioncatalogue import USE_DEFAULT
from starpy.codec.ami import Message

if TYPE_CHECKING:  # pragma: no cover - names for annotations only
    # From its module rather than the package: pydoctor, following this
    # import, would read the package's AMIProtocol before AMIActions exists.
    from starpy.manager._actions import EventList

_Number = Union[str, int]
_Flag = Union[bool, str]
_Value = Union[str, int, float]
_Timeout = Optional[float]
_Reply: TypeAlias = "defer.Deferred[Message]"
_Listing: TypeAlias = "defer.Deferred[EventList]"


class ActionSignatures:
    """The signatures of the catalogue's methods, for type checkers and readers.

    :class:`AMIActions` derives from this class and installs a method made
    from each :data:`CATALOGUE` entry over the declaration of the same name
    here, so these bodies never run.  Positional arguments follow the
    catalogue's order.  The action's own timeout is keyword-only: *timeout*
    (upstream's spelling) or *actionTimeout*, the only spelling for an
    action with a parameter called ``timeout``.  A list action fires with an
    :class:`EventList <starpy.manager.EventList>`, any other with the
    response :class:`Message <starpy.codec.ami.Message>`.
    ``tests/test_style.py`` checks these declarations against the catalogue.
    """

    def absoluteTimeout(self, channel: str, timeout: float, *,
                        actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def agentLogoff(self, agent: str, soft: _Flag = False, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def agents(self, *, timeout: _Timeout = USE_DEFAULT,
               actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def dbDel(self, family: str, key: str, *, timeout: _Timeout = USE_DEFAULT,
              actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dbDelTree(self, family: str, key: Optional[str] = None, *, timeout: _Timeout = USE_DEFAULT,
                  actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dbPut(self, family: str, key: str, value: _Value, *, timeout: _Timeout = USE_DEFAULT,
              actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def extensionState(self, exten: _Number, context: str, *, timeout: _Timeout = USE_DEFAULT,
                       actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def getConfig(self, filename: str, category: Optional[str] = None, filter: Optional[str] = None, *,
                  timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def hangup(self, channel: str, cause: Optional[_Number] = None, *, timeout: _Timeout = USE_DEFAULT,
               actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def logoff(self, *, timeout: _Timeout = USE_DEFAULT,
               actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def mailboxCount(self, mailbox: str, *, timeout: _Timeout = USE_DEFAULT,
                     actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def mailboxStatus(self, mailbox: str, *, timeout: _Timeout = USE_DEFAULT,
                      actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def park(self, channel: str, channel2: Optional[str] = None, timeout: Optional[float] = None,
             parkinglot: Optional[str] = None, announceChannel: Optional[str] = None, *,
             actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def parkedCalls(self, parkinglot: Optional[str] = None, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def ping(self, *, timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def playDTMF(self, channel: str, digit: str, duration: Optional[float] = None,
                 receive: Optional[_Flag] = None, *, timeout: _Timeout = USE_DEFAULT,
                 actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queueAdd(self, queue: str, interface: str, penalty: _Number = 0, paused: _Flag = True,
                 membername: Optional[str] = None, stateinterface: Optional[str] = None, *,
                 timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queueLog(self, queue: str, event: str, uniqueid: Optional[str] = None,
                 interface: Optional[str] = None, msg: Optional[str] = None, *,
                 timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queuePause(self, queue: Optional[str], interface: str, paused: _Flag = True,
                   reason: Optional[str] = None, *, timeout: _Timeout = USE_DEFAULT,
                   actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queuePenalty(self, interface: str, penalty: _Number, queue: Optional[str] = None, *,
                     timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queueRemove(self, queue: str, interface: str, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queueStatus(self, queue: Optional[str] = None, member: Optional[str] = None, *,
                    timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def redirect(self, channel: str, context: str, exten: _Number, priority: _Number,
                 extraChannel: Optional[str] = None, extraContext: Optional[str] = None,
                 extraExten: Optional[_Number] = None, extraPriority: Optional[_Number] = None, *,
                 timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def setVar(self, channel: Optional[str], variable: str, value: _Value, *,
               timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def status(self, channel: Optional[str] = None, variables: Union[str, Iterable[str], None] = None, *,
               timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def dahdiDNDoff(self, channel: _Number, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiDNDon(self, channel: _Number, *, timeout: _Timeout = USE_DEFAULT,
                   actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiDialOffhook(self, channel: _Number, number: str, *, timeout: _Timeout = USE_DEFAULT,
                         actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiHangup(self, channel: _Number, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiRestart(self, channel: Optional[_Number] = None, *, timeout: _Timeout = USE_DEFAULT,
                     actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiShowChannels(self, channel: Optional[_Number] = None, *, timeout: _Timeout = USE_DEFAULT,
                          actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def dahdiTransfer(self, channel: _Number, *, timeout: _Timeout = USE_DEFAULT,
                      actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def coreShowChannels(self, *, timeout: _Timeout = USE_DEFAULT,
                         actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def coreStatus(self, *, timeout: _Timeout = USE_DEFAULT,
                   actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def coreSettings(self, *, timeout: _Timeout = USE_DEFAULT,
                     actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def mixMonitor(self, channel: str, file: Optional[str] = None, options: Optional[str] = None,
                   command: Optional[str] = None, *, timeout: _Timeout = USE_DEFAULT,
                   actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def stopMixMonitor(self, channel: str, mixMonitorId: Optional[str] = None, *,
                       timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def blindTransfer(self, channel: str, exten: _Number, context: Optional[str] = None, *,
                      timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def atxfer(self, channel: str, exten: _Number, context: Optional[str] = None, *,
               timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def bridge(self, channel1: str, channel2: str, tone: Optional[str] = None, *,
               timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def sendText(self, channel: str, message: str, *, timeout: _Timeout = USE_DEFAULT,
                 actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def deviceStateList(self, *, timeout: _Timeout = USE_DEFAULT,
                        actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def extensionStateList(self, *, timeout: _Timeout = USE_DEFAULT,
                           actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def challenge(self, authType: str = "MD5", *, timeout: _Timeout = USE_DEFAULT,
                  actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

