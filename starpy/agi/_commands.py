"""The AGI commands about the channel, the dialplan, variables and AstDB.

:class:`ChannelCommands` is a part of :class:`AGISession <starpy.agi.AGISession>`;
the commands that play, say, record and recognise are in
:class:`MediaCommands <starpy.agi._mediacommands.MediaCommands>`.  Private to
:mod:`starpy.agi`.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Type, TypeVar, Union

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from starpy import error
from starpy.agi._arguments import decimalArgument, keywordAliases
from starpy.agi._results import (
    AGIResponse,
    databaseValue,
    execResult,
    failUnless,
    resultInt,
    valueOrNone,
    variableValue,
)
from starpy.agi._sequence import InSequence
from starpy.codec.agi import AGIReply, Argument
from starpy.codec.appargs import appArgument, rawAppArgument

__all__ = ["ChannelCommands"]

log = logging.getLogger("starpy.agi")

_T = TypeVar("_T")


class ChannelCommands:
    """ANSWER, HANGUP, EXEC, GOSUB, the variables, AstDB and the dialplan
    position, ``sendCommand``, ``jumpOnError`` and ``wait`` (see
    :class:`AGISession <starpy.agi.AGISession>`)."""

    #: The environment (the session's).
    variables: Dict[str, str]
    #: Whether the session has ended (the session's).
    closed: bool
    #: The timers of :meth:`wait` still running, or ``None`` (the session
    #: makes it on first use and cancels them when it ends).
    _waits: Optional[Set[Deferred[int]]]

    @property
    def clock(self) -> IReactorTime:
        """The session's clock."""
        raise NotImplementedError

    def finish(self) -> None:
        """End the session (the transport's)."""
        raise NotImplementedError

    @property
    def channelName(self) -> str:
        """How logs name the session (the session's)."""
        raise NotImplementedError

    def _command(self, convert: Optional[Callable[[AGIReply], Any]], command: str,
                 *arguments: Argument, failOnMinusOne: bool = True) -> Deferred[Any]:
        """Send *command* with *arguments*; check the reply, then pass it
        through *convert* (the session's; see
        :class:`AGISession <starpy.agi.AGISession>`)."""
        raise NotImplementedError

    @keywordAliases(seconds="duration")
    def wait(self, duration: float) -> Deferred[int]:
        """Wait *duration* seconds without talking to Asterisk.

        ``seconds=`` is accepted as an alias of ``duration=``.

        :return: a Deferred that fires with ``0`` (as upstream StarPy's did)
            after *duration* seconds; it
            fails with :class:`AGIHangup <starpy.error.AGIHangup>` if the session ends
            first, and at once with ``ValueError`` if *duration* is
            negative or NaN.  Cancelling it cancels the timer.
        """
        if self.closed:
            return defer.fail(error.AGIHangup(None, None, "AGI session has ended"))
        if not duration >= 0:  # negative, or NaN
            return defer.fail(ValueError("wait needs seconds >= 0, not %r" % (duration,)))
        waiting: Deferred[int] = Deferred(lambda d: call.cancel())
        call: IDelayedCall = self.clock.callLater(duration, self._waitDone, waiting)
        if self._waits is None:
            self._waits = set()
        self._waits.add(waiting)

        def onCancel(reason: Failure) -> Failure:
            if self._waits is not None:
                self._waits.discard(waiting)
            if self.closed and reason.check(defer.CancelledError):
                return Failure(error.AGIHangup(None, None, "AGI session has ended"))
            return reason

        return waiting.addErrback(onCancel)

    def _waitDone(self, waiting: Deferred[int]) -> None:
        if self._waits is not None:
            self._waits.discard(waiting)
        waiting.callback(0)

    @keywordAliases(command="commandString")
    def sendCommand(self, commandString: str, *arguments: Argument) -> Deferred[AGIResponse]:
        """Send a command and return its checked reply.

        This is upstream StarPy's ``sendCommand(commandString)``: a whole
        command line (``'GET VARIABLE "X"'``) is sent as it is.  Given
        *arguments*, *commandString* is the command's words
        (``"SPEECH SET"``) and each argument is quoted as Asterisk needs.
        ``command=`` is accepted as an alias of ``commandString=``.

        :return: a Deferred firing with an :class:`AGIResponse <starpy.agi.AGIResponse>`:
            upstream's string (the reply after ``200 result=``), which also
            holds the parsed reply.  It fails with
            :class:`AGICommandFailure <starpy.error.AGICommandFailure>` on ``result=-1``
            (upstream fired with ``"-1"``; its helper
            :meth:`checkFailure <starpy.agi.AGISession.checkFailure>` then
            raised the same error), and as described in the
            :mod:`starpy.agi` docstring for the other replies.
        """
        return self._command(AGIResponse, commandString, *arguments)

    def answer(self) -> Deferred[int]:
        """ANSWER: answer the channel.

        :return: Deferred firing with the result code (0); fails with
            AGICommandFailure if the answer failed.
        """
        return self._command(resultInt, "ANSWER")

    def asyncagiBreak(self) -> Deferred[int]:
        """ASYNCAGI BREAK: leave AsyncAGI, the dialplan continues (dead-safe).

        :return: Deferred firing with the result code (0).
        """
        return self._command(resultInt, "ASYNCAGI BREAK")

    def channelStatus(self, channel: Optional[str] = None) -> Deferred[int]:
        """CHANNEL STATUS: the state of this channel or of *channel*.

        :return: Deferred firing with Asterisk's state number: 0 down and
            available, 1 down but reserved, 2 off hook, 3 digits dialed,
            4 ringing, 5 remote end ringing, 6 up, 7 busy.  Fails with
            AGICommandFailure when there is no such channel (-1).
        """
        if channel is None:
            return self._command(resultInt, "CHANNEL STATUS")
        return self._command(resultInt, "CHANNEL STATUS", channel)

    def databaseDel(self, family: str, key: str) -> Deferred[int]:
        """DATABASE DEL: delete *key* of *family* from AstDB (dead-safe).

        :return: Deferred firing with 1; fails with AGICommandFailure if
            Asterisk could not delete it (result 0).
        """
        line = "DATABASE DEL"
        return self._command(None, line, family, key).addCallback(
            failUnless, line).addCallback(resultInt)

    def databaseDeltree(self, family: str, keyTree: Optional[str] = None) -> Deferred[int]:
        """DATABASE DELTREE: delete a family, or the *keyTree* within it (dead-safe).

        :return: Deferred firing with 1; fails with AGICommandFailure if
            nothing was deleted (result 0).
        """
        line = "DATABASE DELTREE"
        if keyTree is None:
            d = self._command(None, line, family)
        else:
            d = self._command(None, line, family, keyTree)
        return d.addCallback(failUnless, line).addCallback(resultInt)

    def databaseGet(self, family: str, key: str) -> Deferred[str]:
        """DATABASE GET: read *key* of *family* from AstDB (dead-safe).

        :return: Deferred firing with the value; fails with
            AGICommandFailure if the key is not set (result 0).
        """
        return self._command(databaseValue, "DATABASE GET", family, key)

    def databaseSet(self, family: str, key: str, value: str) -> Deferred[int]:
        """DATABASE PUT: set *key* of *family* in AstDB to *value* (dead-safe).

        :return: Deferred firing with 1; fails with AGICommandFailure if
            Asterisk could not store it (result 0).
        """
        line = "DATABASE PUT"
        return self._command(None, line, family, key, value).addCallback(
            failUnless, line).addCallback(resultInt)

    #: Asterisk's name for :meth:`databaseSet`, kept from StarPy.
    databasePut = databaseSet

    def execute(self, application: str, *options: Argument, **kwargs: Any) -> Deferred[str]:
        """EXEC: run a dialplan application (dead-safe).

        Asterisk calls this ``EXEC``.  The options are joined with commas
        into the application's argument string (upstream's keyword
        ``comma_delimiter`` is accepted; commas are what Asterisk 1.6 and
        later take, so they are always used).  One option is the
        application's whole data, sent as given.  Of several, each must reach
        the application as one argument: one holding a comma outside
        brackets, a double quote, a backslash or an unclosed bracket fails
        the Deferred with ``ValueError`` and nothing is sent (escape it with
        :func:`appArgument <starpy.codec.appargs.appArgument>` into a single
        option for an application that removes escapes).

        :return: Deferred firing, as upstream StarPy's did, with the
            application's return value as a string (``"0"``; ``"-1"`` when
            the application failed or the caller hung up: see
            :meth:`playback` for a checked form).  Fails with
            AGICommandFailure if there is no such application (-2).
        """
        unknown = set(kwargs) - {"comma_delimiter"}
        if unknown:
            return defer.fail(TypeError("execute() got unexpected keyword arguments: %s"
                                        % (", ".join(sorted(unknown)),)))
        line = "EXEC"
        check = partial(execResult, application)
        if not options:
            return self._command(check, line, application, failOnMinusOne=False)
        if len(options) == 1:  # the application's whole data, as given (upstream's use)
            return self._command(check, line, application, options[0], failOnMinusOne=False)
        # Several options: each must reach the application as one argument,
        # whether it splits its data the standard way or raw.
        try:
            joined = ",".join(rawAppArgument(option, "%s option %d" % (application, number))
                              for number, option in enumerate(options, 1))
        except ValueError:
            return defer.fail(Failure())
        return self._command(check, line, application, joined, failOnMinusOne=False)

    def playback(self, filename: str, doAnswer: int = 1) -> Deferred[int]:
        """Run the Playback application on *filename* (StarPy's helper over EXEC).

        :param doAnswer: 1 answer first if needed, 0 play without answering,
            -1 skip the playback if the channel is not answered.
        :return: Deferred firing with Playback's return value as an int (0);
            fails with AGICommandFailure if it failed or the caller hung up
            (-1).
        :raises TypeError: *doAnswer* is not -1, 0 or 1 (at once, as
            upstream StarPy did).
        """
        options = {-1: "skip", 0: "noanswer", 1: ""}
        if doAnswer not in options:
            raise TypeError("doAnswer accepts -1, 0 or 1, not %r" % (doAnswer,))
        try:  # Playback splits its data the standard way: escaped, the name arrives whole
            data = appArgument(filename, "Playback file")
        except ValueError:
            return defer.fail(Failure())
        if options[doAnswer]:
            data = "%s,%s" % (data, options[doAnswer])
        return self._command(resultInt, "EXEC", "Playback", data)

    def getFullVariable(self, name: str, channel: Optional[str] = None) -> Deferred[Optional[str]]:
        """GET FULL VARIABLE: evaluate an expression such as ``"${CALLERID(num)}"`` (dead-safe).

        :param channel: evaluate it on another channel.
        :return: Deferred firing with the value, or ``None`` if it is not set.
        """
        if channel is None:
            return self._command(valueOrNone, "GET FULL VARIABLE", name)
        return self._command(valueOrNone, "GET FULL VARIABLE", name, channel)

    @keywordAliases(name="variable")
    def getVariable(self, variable: str) -> Deferred[str]:
        """GET VARIABLE: read a channel variable (dead-safe).

        ``name=`` is accepted as an alias of ``variable=``.

        :return: Deferred firing with the value (``""`` when set to
            nothing); fails with AGICommandFailure if the variable is not set
            (result 0), as upstream StarPy's did.  See
            :meth:`getFullVariable` for a form firing with ``None``.
        """
        return self._command(variableValue, "GET VARIABLE", variable)

    def gosub(
        self, context: str, extension: str, priority: Union[int, str], *arguments: Argument
    ) -> Deferred[int]:
        """GOSUB: run a dialplan subroutine and come back.

        The *arguments* are joined with commas, as ``Gosub()`` takes them.
        Gosub reads them raw: an argument holding a comma outside brackets,
        a double quote, a backslash or an unclosed bracket fails the
        Deferred with ``ValueError`` and nothing is sent.
        Asterisk sends an interim ``100 result=0 Trying...`` line first; the
        Deferred waits for the final reply.

        :return: Deferred firing with the result code (0); fails with
            AGICommandFailure if the subroutine could not run (-1).
        """
        values: List[Argument] = [context, extension, str(priority)]
        if arguments:
            # Gosub splits its arguments raw (quotes and backslashes kept):
            # no escape reaches it, so what it would split or change is refused.
            try:
                values.append(",".join(rawAppArgument(argument, "Gosub argument %d" % (number,))
                                       for number, argument in enumerate(arguments, 1)))
            except ValueError:
                return defer.fail(Failure())
        return self._command(resultInt, "GOSUB", *values)

    def hangup(self, channel: Optional[str] = None) -> Deferred[int]:
        """HANGUP: hang up this channel, or *channel*.

        Asterisk then sends an unsolicited ``HANGUP`` line, which marks this
        session hung up.

        :return: Deferred firing with 1; fails with AGICommandFailure if the
            channel does not exist (-1).
        """
        if channel is None:
            return self._command(resultInt, "HANGUP")
        return self._command(resultInt, "HANGUP", channel)

    def noop(self, message: Optional[str] = None) -> Deferred[int]:
        """NOOP: do nothing; useful to check the session is alive (dead-safe).

        :return: Deferred firing with the result code (0).
        """
        if message is None:
            return self._command(resultInt, "NOOP")
        return self._command(resultInt, "NOOP", message)

    def setAutoHangup(self, time: float) -> Deferred[int]:
        """SET AUTOHANGUP: hang the channel up *time* seconds from now (0 cancels).

        :return: Deferred firing with the result code (0).
        """
        return self._command(resultInt, "SET AUTOHANGUP", decimalArgument(time))

    def setCallerID(self, number: str) -> Deferred[int]:
        """SET CALLERID: set the caller ID (``'"Name" <number>'`` or a number).

        :return: Deferred firing with the result code (1).
        """
        return self._command(resultInt, "SET CALLERID", number, failOnMinusOne=False)

    def setContext(self, context: str) -> Deferred[int]:
        """SET CONTEXT: the context the dialplan continues in after AGI.

        :return: Deferred firing with the result code (0).
        """
        return self._command(resultInt, "SET CONTEXT", context, failOnMinusOne=False)

    def setExtension(self, extension: str) -> Deferred[int]:
        """SET EXTENSION: the extension the dialplan continues at after AGI.

        :return: Deferred firing with the result code (0).
        """
        return self._command(resultInt, "SET EXTENSION", extension, failOnMinusOne=False)

    def setMusic(self, on: bool = True, musicClass: Optional[str] = None) -> Deferred[int]:
        """SET MUSIC: start (*on*) or stop music on hold, of *musicClass*.

        :return: Deferred firing with the result code (0).
        """
        if musicClass is None:
            return self._command(resultInt, "SET MUSIC", "on" if on else "off",
                                 failOnMinusOne=False)
        return self._command(resultInt, "SET MUSIC", "on" if on else "off", musicClass,
                             failOnMinusOne=False)

    def setPriority(self, priority: Union[int, str]) -> Deferred[int]:
        """SET PRIORITY: the priority (number or label) the dialplan continues at.

        :return: Deferred firing with the result code (0).
        """
        return self._command(resultInt, "SET PRIORITY", str(priority), failOnMinusOne=False)

    def setVariable(self, variable: str, value: Argument) -> Deferred[int]:
        """SET VARIABLE: set a channel variable; the value arrives intact (dead-safe).

        :return: Deferred firing with the result code (1).
        """
        return self._command(resultInt, "SET VARIABLE", variable, value,
                             failOnMinusOne=False)

    def verbose(self, message: str, level: Optional[int] = None) -> Deferred[int]:
        """VERBOSE: log *message* on the Asterisk console at *level* 1-4 (dead-safe).

        :return: Deferred firing with the result code (1).
        """
        if level is None:
            return self._command(resultInt, "VERBOSE", message, failOnMinusOne=False)
        return self._command(resultInt, "VERBOSE", message, int(level), failOnMinusOne=False)

    def jumpOnError(
        self,
        reason: Failure,
        difference: int = 100,
        forErrors: Union[None, Type[BaseException], Sequence[Type[BaseException]]] = None,
    ) -> Deferred[List[Any]]:
        """Errback: on error, jump to the original priority + *difference* and finish.

        Add it to the Deferred of a whole AGI operation
        (``d.addErrback(agi.jumpOnError, 100)``).  It sets the context,
        extension and priority back to the ones of the environment, with the
        priority moved by *difference*, then finishes the session (the
        session is finished even if setting them fails).

        :param forErrors: an exception class or a sequence of them; other
            failures are passed on untouched (no jump).
        :return: a Deferred firing with the results of the three SET
            commands and of the finish (``None``), as upstream StarPy's did,
            or failing with the first one's failure.
        """
        if forErrors:
            if isinstance(forErrors, type):
                reason.trap(forErrors)
            else:
                reason.trap(*forErrors)
        log.info("%s: jumping %+d priorities on error: %s", self.channelName, difference,
                 reason.getErrorMessage())
        sequence = InSequence()
        sequence.append(self.setContext, self.variables["agi_context"])
        sequence.append(self.setExtension, self.variables["agi_extension"])
        sequence.append(self.setPriority, int(self.variables["agi_priority"]) + difference)

        def finishAnyway(result: _T) -> _T:
            self.finish()
            if isinstance(result, list):
                result.append(None)
            return result

        return sequence().addBoth(finishAnyway)
