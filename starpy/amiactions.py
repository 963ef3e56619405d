"""Named AMI actions, declared as data.

Each entry of :data:`CATALOGUE` names a method, the AMI action it sends and
its parameters (Python argument, AMI header, default, conversion).  The
:class:`AMIActions` mixin turns every entry into a method of
:class:`AMIProtocol <starpy.manager.AMIProtocol>`, so ``ami.hangup('PJSIP/100-0001')``
sends ``Action: Hangup`` with ``Channel: PJSIP/100-0001``.  Any action not
listed is still reachable with ``ami.sendAction(name, headers)``.

The few actions whose results need shaping (``command``, ``dbGet``,
``getVar``, ``originate``, ``events``, ``userEvent``, ``updateConfig``,
``listCommands``, ``waitEvent``) are written out by hand below the catalogue.
Names, arguments and result shapes are upstream StarPy 1.1.1's.

Time values are float seconds, converted to what each action takes.

Asterisk reads some header values with its dialplan application-argument
parser (``Variable`` of ``Originate``, the ``File`` of ``MixMonitor``,
an application's ``Data``...): there a comma separates, double quotes
group, a backslash escapes and brackets nest.  :func:`appArgument`,
:func:`appArguments` and :func:`variableAssignment` escape values for that
parser, and the actions below use them for ``Variable``, MixMonitor's
``File`` and Status's variable names.  Originate's ``Data`` is sent as
given, as the dialplan would write it: build it with :func:`appArguments`
when its parts must arrive whole.
"""
from __future__ import annotations

import re
from typing import (
    Any,
    Callable,
    Iterable,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from twisted.internet import defer
from twisted.python.failure import Failure

from starpy import error
from starpy._actioncatalogue import (
    CATALOGUE,
    USE_DEFAULT,
    ActionSpec,
    Param,
    asText,
    milliseconds,
    trueFalse,
    wholeSeconds,
    yesNo,
)
from starpy._actionsignatures import ActionSignatures
from starpy.codec.ami import HeaderInput, Message
from starpy.codec.appargs import appArgument, appArguments, variableAssignment, variableAssignments
from starpy.error import LocalProtocolError

__all__ = [
    "AMIActions",
    "ActionSpec",
    "Param",
    "CATALOGUE",
    "EVENT_CLASSES",
    "USE_DEFAULT",
    "appArgument",
    "appArguments",
    "eventClassList",
    "variableAssignment",
]

_FILTER_ACTIONS = ("include", "exclude")
EVENT_CLASSES = ("system", "call", "log", "verbose", "command", "agent", "user", "config",
                 "dtmf", "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc",
                 "test", "security", "message")
"""Asterisk 22's event (and action) classes, as ``manager.conf`` and
``EventMask`` name them; ``'all'`` means every one."""

_MASK_WORDS = frozenset(("on", "off", "yes", "no", "true", "false"))


def eventClassList(classes: Union[str, Iterable[str]]) -> str:
    """*classes* (``['call', 'agent']`` or ``'call,agent'``, any case) as
    Asterisk reads a class list: ``'call,agent'``.  A mask word Asterisk
    knows (``'on'``, ``'off'``, ``'yes'``...) or a number is kept as is.

    :raises starpy.error.LocalProtocolError: the list is empty or names a class Asterisk does not
        know (it would silently ignore it).
    :raises TypeError: *classes* is neither a string nor strings.
    """
    if isinstance(classes, str):
        if classes.strip().lower() in _MASK_WORDS or classes.strip().isdigit():
            return classes.strip().lower()
        names = classes.split(",")
    else:
        names = list(classes)
    words: List[str] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError("event classes must be strings, not %r" % (name,))
        word = name.strip().lower()
        if word not in EVENT_CLASSES and word != "all":
            raise LocalProtocolError("unknown event class %r (Asterisk knows %s, and all)"
                                     % (name, ", ".join(EVENT_CLASSES)))
        if word not in words:
            words.append(word)
    if not words:
        raise LocalProtocolError("no event class given (use False to turn events off)")
    return ",".join(words)


_FILTER_METHODS = ("regex", "exact", "starts_with", "ends_with", "contains", "none")
# Asterisk's criteria parser reads name(...)/header(...) up to ')' and splits
# criteria at ','; a blank would be kept in the name and match nothing.
_CRITERIA_UNSAFE = re.compile(r"[(),\s]")



class _NamedAction:
    """A method made from an :class:`ActionSpec`."""

    def __init__(self, spec: ActionSpec) -> None:
        self.spec = spec
        kind = ("an :class:`EventList <starpy.manager.EventList>`: the response, the item events,"
                " then the closing event" if spec.isList
                else "the response :class:`Message <starpy.codec.ami.Message>`")
        self.__doc__ = (
            "%s\n\n``%s`` sends ``Action: %s``. The Deferred fires with %s and fails with"
            " :class:`AMICommandFailure <starpy.error.AMICommandFailure>` on ``Response: Error``, or with"
            " AMITimeout / AMIConnectionLost." % (spec.doc, spec.signature(), spec.action, kind)
        )

    def __get__(self, instance: Any, owner: Any) -> Callable[..., "defer.Deferred[Any]"]:
        if instance is None:
            return self  # type: ignore[return-value]
        spec = self.spec

        def call(*args: Any, **kwargs: Any) -> "defer.Deferred[Any]":
            # An action with a parameter named timeout (absoluteTimeout, park)
            # takes the action's own timeout as actionTimeout only.
            actionTimeout = kwargs.pop("actionTimeout", USE_DEFAULT)
            if "timeout" in kwargs and not spec.hasParam("timeout"):
                actionTimeout = kwargs.pop("timeout")
            headers = spec.headers(args, kwargs)
            if spec.stopEvent is not None:
                return instance.collectDeferred(  # type: ignore[no-any-return]
                    [("Action", spec.action)] + headers, spec.stopEvent, timeout=actionTimeout)
            return instance.sendAction(  # type: ignore[no-any-return]
                spec.action, headers, timeout=actionTimeout)

        call.__name__ = spec.method
        call.__doc__ = self.__doc__
        # A non-data descriptor: caching the bound function on the instance
        # makes every later lookup a plain attribute hit.
        instance.__dict__[spec.method] = call
        return call



class AMIActions(ActionSignatures):
    """Named actions for :class:`AMIProtocol <starpy.manager.AMIProtocol>`.

    Catalogue actions are attached below the class; see :data:`CATALOGUE`.
    Their signatures, which type checkers see, are declared on its base.
    """

    defaultTimeout: Optional[float]

    def sendAction(self, action: str, headers: HeaderInput = None,
                   timeout: Optional[float] = USE_DEFAULT,
                   expectEvent: Optional[str] = None) -> "defer.Deferred[Any]":
        raise NotImplementedError  # provided by AMIProtocol

    def sendMessage(self, message: Any, responseCallback: Optional[Callable[[Any], Any]] = None,
                    timeout: Optional[float] = USE_DEFAULT) -> str:
        raise NotImplementedError  # provided by AMIProtocol

    def collectDeferred(self, message: Any, stopEvent: str,
                        timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Any]":
        raise NotImplementedError  # provided by AMIProtocol

    def command(self, command: str, timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[List[str]]":
        """Run an Asterisk CLI *command*; fires with its output lines.

        Understands both forms Asterisk has used: one ``Output:`` header per
        line (Asterisk 14 and later) and the old ``Response: Follows`` body
        closed by ``--END COMMAND--``.  An unknown CLI command (Asterisk
        answers ``Response: Error`` with the output) fails with
        :class:`AMICommandFailure <starpy.error.AMICommandFailure>` whose message is the output.
        """

        def lines(response: Message) -> List[str]:
            return response.getAll("output") or list(response.body)

        def onError(failure: Failure) -> Failure:
            failed = failure.value
            if isinstance(failed, error.AMICommandFailure) and failed.response is not None:
                response = failed.response
                output = lines(response) if isinstance(response, Message) else []
                if output:
                    failed.message = "\n".join(output)
            return failure

        return self.sendAction("Command", {"Command": command}, timeout=timeout).addCallbacks(
            lines, onError)

    def dbGet(self, family: str, key: str,
              timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Optional[str]]":
        """The AstDB value of *key* in *family*, or ``None`` if there is none.

        Fires with ``None`` when Asterisk answers ``Database entry not found``
        (as upstream StarPy); fails with :class:`AMICommandFailure <starpy.error.AMICommandFailure>`
        on any other ``Response: Error`` (``Permission denied``...).
        Concurrent calls never cross: each reply is matched by its ActionID.
        """

        def value(result: Any) -> str:
            items = result if isinstance(result, list) else [result]
            for item in items:
                if "val" in item:
                    return str(item["val"])
            raise error.AMICommandFailure("DBGet", "no value in the reply", None)

        def missing(failure: Failure) -> Optional[Failure]:
            failed = failure.value
            if isinstance(failed, error.AMICommandFailure) \
                    and failed.message.strip().lower() == "database entry not found":
                return None
            return failure

        return self.sendAction("DBGet", {"Family": family, "Key": key}, timeout=timeout).addCallbacks(
            value, missing)

    def getVar(self, channel: Optional[str], variable: str,
               timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Optional[str]]":
        """The value of *variable* on *channel* (``None``: a global variable).

        Fires with the value, ``''`` for an unset variable (Asterisk does not
        tell them apart), or ``None`` if Asterisk says ``(null)``.
        """
        headers: List[Tuple[str, str]] = []
        if channel:
            headers.append(("Channel", channel))
        headers.append(("Variable", variable))

        def value(response: Message) -> Optional[str]:
            found = response.get("value", response.get(variable.lower()))
            if found is None:
                raise error.AMICommandFailure("Getvar", "no Value in the reply", response)
            return None if found == "(null)" else str(found)

        return self.sendAction("Getvar", headers, timeout=timeout).addCallback(value)

    def filter(self, filter: Optional[str] = None, operation: str = "Add", *,
               name: Optional[str] = None, header: Optional[str] = None,
               method: Optional[str] = None, action: Optional[str] = None,
               timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Message]":
        """Add an event filter to this session (``Action: Filter``); fires with
        the response, fails with :class:`AMICommandFailure <starpy.error.AMICommandFailure>`
        when Asterisk refuses it (a user without the ``system`` write class,
        a filter that does not compile...).

        The legacy form: *filter* alone is a regular expression Asterisk
        matches against the whole event (``'Event: Newchannel'``; a leading
        ``!`` excludes what matches).

        Asterisk 22's advanced form (``MatchCriteria``), chosen by any of the
        keywords: *name* (the event name, exact and case-sensitive),
        *header* (the header whose value *filter* is matched against),
        *method* (``'regex'``, ``'exact'``, ``'starts_with'``,
        ``'ends_with'``, ``'contains'``, or ``'none'``: *filter* unused) and
        *action* (``'include'``, the default, or ``'exclude'``).  For example
        ``filter(name='Newchannel')`` sends ``MatchCriteria:
        name(Newchannel)``; ``filter('Local/', action='exclude',
        header='Channel', method='starts_with')`` excludes Local channels.

        With include filters only the events matching one of them are sent;
        exclude filters then take events away.  Filters last as long as the
        connection.

        :raises starpy.error.LocalProtocolError: (nothing sent) an empty or missing *filter* in the
            legacy form; *filter* given without a *method* that uses it (or
            *method* without *filter*); an unknown *method* or *action*; a
            *name* or *header* that is empty or holds a character Asterisk's
            criteria parser splits at (``(``, ``)``, ``,``, blanks).
        """
        advanced = (name, header, method, action) != (None, None, None, None)
        if not advanced:
            if not filter:
                raise LocalProtocolError("filter: the legacy form needs a regular expression"
                                         " (or use name=, header=, method=, action=)")
            return self.sendAction("Filter", [("Filter", filter), ("Operation", operation)],
                                   timeout=timeout)
        criteria: List[str] = []
        if action is not None:
            if action not in _FILTER_ACTIONS:
                raise LocalProtocolError("filter action must be one of %s, not %r"
                                         % (", ".join(_FILTER_ACTIONS), action))
            criteria.append("action(%s)" % (action,))
        for what, value in (("name", name), ("header", header)):
            if value is None:
                continue
            if not isinstance(value, str) or not value or _CRITERIA_UNSAFE.search(value):
                raise LocalProtocolError("filter %s must be a non-empty word without parentheses,"
                                         " commas or blanks, not %r" % (what, value))
            criteria.append("%s(%s)" % (what, value))
        if method is not None:
            if method not in _FILTER_METHODS:
                raise LocalProtocolError("filter method must be one of %s, not %r"
                                         % (", ".join(_FILTER_METHODS), method))
            criteria.append("method(%s)" % (method,))
        uses = method is not None and method != "none"
        if filter and not uses:
            raise LocalProtocolError("filter: the expression %r needs a method= that uses it (%s)"
                                     % (filter, ", ".join(m for m in _FILTER_METHODS if m != "none")))
        if uses and not filter:
            raise LocalProtocolError("filter: method=%r needs an expression to match" % (method,))
        headers = [("MatchCriteria", ",".join(criteria))]
        if filter:
            headers.append(("Filter", filter))
        headers.append(("Operation", operation))
        return self.sendAction("Filter", headers, timeout=timeout)

    def events(self, eventmask: Union[bool, str, Iterable[str]] = False,
               timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Message]":
        """Turn events on (``True``), off (``False``) or to some event classes
        (``['call', 'agent']`` or ``'call,agent'``); fires with the response
        (``Events: On`` or ``Off``).

        Classes are sent comma-separated in lower case: Asterisk compares
        them case-sensitively and silently drops a name it does not know
        (``EventMask: Call`` turns events off).  The session then receives
        the events whose every class (their ``Privilege``) is both in the
        list and readable by the AMI user.

        :raises starpy.error.LocalProtocolError: (nothing sent) an empty class list, a class that
            is not one of :data:`EVENT_CLASSES` (nor ``'all'``).
        """
        if eventmask is True or eventmask in (1, "on"):
            mask = "on"
        elif eventmask is False or eventmask in (0, "off"):
            mask = "off"
        else:
            mask = eventClassList(eventmask)
        return self.sendAction("Events", {"EventMask": mask}, timeout=timeout)

    def userEvent(self, event: str, **headers: Any) -> str:
        """Send a ``UserEvent`` named *event* with extra *headers*; return its ActionID.

        As upstream StarPy, nothing waits for Asterisk's answer: the ActionID
        string is returned at once.  To wait for the response, send
        ``sendAction('UserEvent', [('UserEvent', event), ...])``.

        :raises starpy.error.LocalProtocolError: CR or LF in a header; nothing is sent.
        """
        pairs = [("Action", "UserEvent"), ("UserEvent", event)]
        pairs.extend((name, asText(value)) for name, value in headers.items())
        return self.sendMessage(pairs)

    def listCommands(self, timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Message]":
        """Every action this user may send, one header each (``Ping: Keepalive
        command...``); the ``ActionID`` is left out, as upstream StarPy did."""

        def withoutActionID(response: Message) -> Message:
            return Message([(name, value) for name, value in response.headers()
                            if name.lower() != "actionid"], response.body)

        return self.sendAction("ListCommands", timeout=timeout).addCallback(withoutActionID)

    def waitEvent(self, timeout: float,
                  actionTimeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Any]":
        """Wait up to *timeout* seconds for an event (``WaitEvent``).

        Fires, as upstream StarPy, with an :class:`EventList <starpy.manager.EventList>`
        of the response and the closing ``WaitEventComplete`` (and any event
        carrying the ActionID between them).  *actionTimeout* defaults to
        *timeout* plus the protocol's default.
        """
        if actionTimeout is USE_DEFAULT:
            base = self.defaultTimeout
            actionTimeout = None if base is None else base + float(timeout)
        return self.collectDeferred([("Action", "WaitEvent"), ("Timeout", wholeSeconds(timeout))],
                                    "WaitEventComplete", timeout=actionTimeout)

    def updateConfig(self, srcfile: str, dstfile: str, reload: Union[bool, str] = False,
                     headers: Optional[Mapping[str, Any]] = None,
                     timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Message]":
        """Edit a configuration file: *headers* holds ``Action-000000``, ``Cat-000000``... entries."""
        pairs = [("SrcFilename", srcfile), ("DstFilename", dstfile), ("Reload", yesNo(reload))]
        pairs.extend((name, asText(value)) for name, value in (headers or {}).items())
        return self.sendAction("UpdateConfig", pairs, timeout=timeout)

    def originate(
        self,
        channel: str,
        context: Optional[str] = None,
        exten: Optional[str] = None,
        priority: Optional[Union[int, str]] = None,
        timeout: Optional[float] = None,
        callerid: Optional[str] = None,
        account: Optional[str] = None,
        application: Optional[str] = None,
        data: Optional[str] = None,
        variable: Union[Mapping[str, Any], Iterable[str], None] = None,
        nowait: bool = False,
        channelid: Optional[str] = None,
        otherchannelid: Optional[str] = None,
        codecs: Union[str, Iterable[str], None] = None,
        *,
        asynchronous: bool = False,
        earlyMedia: Optional[bool] = None,
        actionTimeout: Optional[float] = USE_DEFAULT,
        channelId: Optional[str] = None,
        otherChannelId: Optional[str] = None,
        async_: Optional[bool] = None,
    ) -> "defer.Deferred[Message]":
        """Originate a call from *channel* to a dialplan location or an application.

        The arguments up to *codecs* are upstream StarPy 1.1.1's, in its order.

        :param timeout: seconds to wait for *channel* to answer (sent in ms).
        :param variable: channel variables: a mapping or ``'NAME=value'``
            strings (the name ends at the first ``=``); each becomes its
            own ``Variable`` header, escaped (:func:`variableAssignment`)
            so that Asterisk sets exactly that variable to exactly that
            value.  A bad name or value raises ``ValueError`` before
            anything is sent.
        :param nowait: send ``Async: true`` and fire with Asterisk's
            immediate response (``Originate successfully queued``), as
            upstream; the outcome comes later as an ``OriginateResponse``
            event to the event handlers.  ``async_`` is an alias (older
            upstream releases called it ``async``).
        :param channelid: ``Uniqueid`` for the originated channel (and
            *otherchannelid* for the second half of a Local channel);
            ``channelId``/``otherChannelId`` are aliases.
        :param codecs: codec names (``'ulaw,alaw'`` or a list).
        :param asynchronous: send ``Async: true`` too, but fire only on the
            matching ``OriginateResponse`` event: with it when it says
            ``Success``; failing with :class:`AMIOriginateFailure <starpy.error.AMIOriginateFailure>`
            carrying ``reason`` when it says ``Failure``.  Not the same as
            *nowait*: give one of them.
        :param actionTimeout: how long to wait for Asterisk's answer (by
            default the originate *timeout* plus the protocol's default).

        Otherwise (synchronous) it fires with the response once the call is
        answered.  All forms fail with :class:`AMICommandFailure <starpy.error.AMICommandFailure>`
        on ``Response: Error``.

        :raises TypeError: an argument given twice under its two spellings.
        :raises starpy.error.LocalProtocolError: both *nowait* and *asynchronous*, or a variable
            Asterisk could not set as given; nothing is sent.
        """
        if async_ is not None:
            nowait = bool(async_)
        for name, primary, alias in (("channelid", channelid, channelId),
                                     ("otherchannelid", otherchannelid, otherChannelId)):
            if alias is not None and primary is not None and alias != primary:
                raise TypeError("originate() got %s and its alias with different values" % name)
        channelid = channelid if channelid is not None else channelId
        otherchannelid = otherchannelid if otherchannelid is not None else otherChannelId
        if nowait and asynchronous:
            raise LocalProtocolError("originate(): nowait fires with the response, asynchronous with"
                                     " the OriginateResponse event; give only one")
        pairs: List[Tuple[str, str]] = [("Channel", channel)]
        for header, value in (("Context", context), ("Exten", exten), ("Priority", priority)):
            if value is not None:
                pairs.append((header, asText(value)))
        if timeout is not None:
            pairs.append(("Timeout", milliseconds(timeout)))
        for header, value in (("CallerID", callerid), ("Account", account),
                              ("Application", application), ("Data", data),
                              ("ChannelId", channelid), ("OtherChannelId", otherchannelid)):
            if value is not None:
                pairs.append((header, asText(value)))
        if codecs is not None:
            pairs.append(("Codecs", codecs if isinstance(codecs, str) else ",".join(codecs)))
        if earlyMedia is not None:
            pairs.append(("EarlyMedia", trueFalse(earlyMedia)))
        if variable:
            pairs.extend(("Variable", assignment) for assignment in variableAssignments(variable))
        if asynchronous or nowait:
            pairs.append(("Async", "true"))
        if actionTimeout is USE_DEFAULT:
            base = self.defaultTimeout
            actionTimeout = None if base is None else base + (0.0 if nowait else timeout or 0.0)
        return self.sendAction("Originate", pairs, timeout=actionTimeout,
                               expectEvent="OriginateResponse" if asynchronous else None)


for _spec in CATALOGUE:
    setattr(AMIActions, _spec.method, _NamedAction(_spec))
del _spec

