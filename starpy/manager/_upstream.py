"""Upstream StarPy's other ways of sending, mixed into :class:`AMIProtocol
<starpy.manager.AMIProtocol>`.

``sendMessage`` (a ``responseCallback`` told of each reply), ``sendDeferred``
(fires with the response whatever it says), ``collectDeferred`` (collects up
to a named event), ``action`` (keyword headers), ``sendLine`` (an action
written line by line) and their helpers, with upstream's names and result
shapes.  Each is built on the protocol's ``_send``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from twisted.internet import defer
from twisted.python.failure import Failure

from starpy import error
from starpy._idioms import notifyListener
from starpy.amiactions import USE_DEFAULT as _USE_DEFAULT
from starpy.codec.ami import MAX_ACTION_HEADERS, AMIParser, HeaderInput, Message, checkHeaderLine
from starpy.manager._actions import EventList, Pending, deferredErrorResp
from starpy.manager._common import log

if TYPE_CHECKING:  # pragma: no cover
    from twisted.internet.interfaces import ITransport

    from starpy.trace import WireTracer


class UpstreamSending:
    """Upstream's sending forms; the protocol provides what is declared here."""

    if TYPE_CHECKING:  # pragma: no cover
        transport: Optional[ITransport]
        tracer: WireTracer
        _connected: bool
        _closing: bool
        _lostReason: str
        _lines: List[str]
        _parser: AMIParser

        def _newActionID(self) -> str: ...

        def _write(self, data: bytes) -> None: ...

        def _send(self, action: str, headers: HeaderInput, timeout: Optional[float],
                  expectEvent: Optional[str] = None, actionID: Optional[str] = None,
                  stopEvent: Optional[str] = None,
                  listener: Optional[Callable[[Any], Any]] = None,
                  rawResponse: bool = False) -> Pending: ...

    def generateActionId(self) -> str:
        """A new ActionID, unique on this connection (and across processes)."""
        return self._newActionID()

    def _splitMessage(self, message: Union[Mapping[str, Any], Iterable[Any]]
                      ) -> Tuple[str, List[Tuple[str, Any]], Optional[str]]:
        """``(action, headers, actionID or None)`` of an upstream-style message:
        a dict, or a sequence of ``(name, value)`` pairs, holding ``Action``."""
        pairs = list(message.items()) if isinstance(message, Mapping) else list(message)
        action: Optional[str] = None
        actionID: Optional[str] = None
        headers: List[Tuple[str, Any]] = []
        for pair in pairs:
            name, value = pair
            if not isinstance(name, str):
                raise TypeError("AMI header name must be a string, not %r" % (name,))
            if name.lower() == "action":
                action = str(value)
            elif name.lower() == "actionid":
                actionID = str(value)
            else:
                headers.append((name, value))
        if action is None:
            raise error.LocalProtocolError(
                "message has no Action header: %r" % (sorted(n for n, v in headers),))
        return action, headers, actionID

    def sendMessage(
        self,
        message: Union[Mapping[str, Any], Iterable[Any]],
        responseCallback: Optional[Callable[[Any], Any]] = None,
        timeout: Optional[float] = _USE_DEFAULT,
    ) -> str:
        """Send *message* (upstream StarPy's form); return its ActionID at once.

        :param message: a dict, or a sequence of ``(name, value)`` pairs,
            holding an ``Action`` header (any case) and optionally an
            ``ActionID``, kept if given.
        :param responseCallback: called with each message carrying the
            ActionID, in order: the response (also ``Response: Error``), then,
            if it opens an event list, each event of the list up to and with
            the closing one.  If the connection drops or no reply comes within
            *timeout*, it is called once with the exception
            (:class:`AMIConnectionLost <starpy.error.AMIConnectionLost>`,
            :class:`AMITimeout <starpy.error.AMITimeout>`), as upstream called it with
            ``ConnectionDone``.  An exception it raises is logged.

        :raises ValueError: no ``Action`` header, an ActionID still waiting
            for its reply, or CR/LF in a header; nothing is sent.
        """
        action, headers, actionID = self._splitMessage(message)
        entry = self._send(action, headers, timeout, actionID=actionID, listener=responseCallback)

        def onFailure(failure: Failure) -> None:
            if responseCallback is not None and not failure.check(error.AMICommandFailure):
                notifyListener(log, "AMI responseCallback", responseCallback, failure.value)

        entry.deferred.addErrback(onFailure)
        return entry.actionID

    def sendDeferred(self, message: Union[Mapping[str, Any], Iterable[Any]],
                     timeout: Optional[float] = _USE_DEFAULT) -> deferredErrorResp:
        """Send *message* (as :meth:`sendMessage`); fire with the response.

        Upstream's low-level form: the Deferred fires with the first reply
        carrying the ActionID, whatever it says (``Response: Error``
        included: chain :meth:`errorUnlessResponse` to check it); a list
        action's events then go to the event handlers.  It fails with
        :class:`AMITimeout <starpy.error.AMITimeout>` or
        :class:`AMIConnectionLost <starpy.error.AMIConnectionLost>`.  See :meth:`sendAction` for
        the checked, list-collecting form.
        """
        action, headers, actionID = self._splitMessage(message)
        entry = self._send(action, headers, timeout, actionID=actionID, rawResponse=True)
        result = deferredErrorResp(lambda d: entry.deferred.cancel())

        def onResponse(response: Message) -> None:
            result.callback(self.checkErrorResponse(response, entry.actionID, result))

        entry.deferred.addCallbacks(onResponse, result.errback)
        return result

    def checkErrorResponse(self, result: Any, actionid: Optional[str] = None,
                           df: Optional[defer.Deferred[Any]] = None) -> Any:
        """Call the function registered with ``df.registerError`` if *result*
        is a ``Response: Error`` reply; return *result* unchanged."""
        function = getattr(df, "_errorRespCallback", None)
        if function is not None and isinstance(result, Mapping) \
                and str(result.get("response", "")).lower() == "error":
            function(result)
        return result

    def errorUnlessResponse(self, message: Any, expected: str = "Success") -> Any:
        """Return *message*, or raise unless its ``Response`` is *expected*.

        :raises ~starpy.error.AMICommandFailure: *message* is a reply whose
            ``Response`` is not *expected* (case aside); its ``message`` is
            Asterisk's ``Message`` header.  Anything but a mapping (a list
            from :meth:`collectDeferred`) is returned unchanged.
        """
        if isinstance(message, Mapping):
            response = str(message.get("response", ""))
            if response.lower() != expected.lower():
                raise error.AMICommandFailure(
                    str(message.get("action", "") or "action"),
                    str(message.get("message", "") or "Response: %s" % (response,)), message)
        return message

    def collectDeferred(self, message: Union[Mapping[str, Any], Iterable[Any]], stopEvent: str,
                        timeout: Optional[float] = _USE_DEFAULT) -> defer.Deferred[EventList]:
        """Send *message* and collect every reply up to the event *stopEvent*.

        Fires with an :class:`EventList`: the response, the events carrying
        the ActionID, then the *stopEvent* event (its name matched in any
        case) or the event that says ``EventList: Complete``, whichever
        comes first (upstream waited for *stopEvent* alone).  Fails with
        :class:`AMICommandFailure <starpy.error.AMICommandFailure>` on ``Response: Error``, or as
        :meth:`sendAction` does.
        """
        action, headers, actionID = self._splitMessage(message)
        return self._send(action, headers, timeout, actionID=actionID,
                          stopEvent=stopEvent).deferred

    def action(self, action: str, **headers: Any) -> defer.Deferred[Message]:
        """Send any action with *headers* as keyword arguments (upstream's form).

        Fires with the response once it says ``Success`` (for a list action,
        the response alone: its events go to the event handlers); fails
        with :class:`AMICommandFailure <starpy.error.AMICommandFailure>` otherwise.
        ``ami.action('QueueSummary', Queue='sales')``.
        """
        message: Dict[str, Any] = dict(headers)
        message["Action"] = action
        d: defer.Deferred[Message] = self.sendDeferred(message)
        return d.addCallback(self._checkedFor, action)

    def _checkedFor(self, response: Message, action: str) -> Message:
        try:
            result: Message = self.errorUnlessResponse(response)
        except error.AMICommandFailure as failure:
            failure.action = action
            raise
        return result

    def sendLine(self, line: Union[bytes, str]) -> None:
        """Send one line of an action written by hand (upstream's form).

        ``ami.sendLine('Action: Ping')`` then ``ami.sendLine('')``: lines are
        held until the blank line that ends the message, and the message
        then goes out whole, so it never mixes with an action sent
        meanwhile.  The reply is not tracked (use :meth:`sendMessage`).

        :raises ValueError: the line holds CR, LF or NUL, is not ``Name:
            value``, is longer than Asterisk reads (:data:`MAX_LINE_BYTES
            <starpy.codec.ami.MAX_LINE_BYTES>` bytes) or would make more
            header lines than Asterisk takes (128) or a message longer than
            the protocol's message size bound, or its value starts with a
            blank Asterisk would drop; the line is refused, lines already
            given are kept.
        :raises ~starpy.error.AMIConnectionLost: the connection is closed
            (or closing).
        """
        text = line.decode("utf-8", "surrogateescape") if isinstance(line, bytes) else line
        if "\r" in text or "\n" in text:
            raise error.LocalProtocolError("AMI line %r holds a CR or LF" % (text,))
        if not self._connected or self._closing:
            raise error.AMIConnectionLost(None, self._lostReason)
        if text:
            checkHeaderLine(text)
            if len(self._lines) >= MAX_ACTION_HEADERS:
                raise error.LocalProtocolError("AMI message written with sendLine would have more than "
                                 "the %d header lines Asterisk reads" % (MAX_ACTION_HEADERS,))
            limit = self._parser.maxMessageSize  # the bound received messages have
            size = sum(len(held.encode("utf-8", "surrogateescape")) + 2 for held in self._lines)
            if size + len(text.encode("utf-8", "surrogateescape")) + 2 > limit:
                raise error.LocalProtocolError("AMI message written with sendLine exceeds %d bytes"
                                 % (limit,))
            self._lines.append(text)
            return
        lines, self._lines = self._lines, []
        if not lines:
            return
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
        self._write(data)
        if self.tracer.enabled:
            self.tracer.sent(lines + [""])
