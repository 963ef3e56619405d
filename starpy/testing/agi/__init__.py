"""A fake Asterisk that places FastAGI calls: Asterisk's side of the wire.

It is for the authors of AGI applications (FastAGI handlers, menus, classic
AGI scripts): test them without an Asterisk, in unit tests (in memory, on a
simulated clock) or against a running server (over TCP, as ``starpy fake
--calls N`` does).  The fake connects to your FastAGI server, sends the
environment block exactly as Asterisk 22 does, then answers every command
line from a simulated channel: sound files with durations, DTMF digits
arriving at given times, a hangup at a given time, channel variables and the
AstDB kept in memory, and Asterisk's replies down to the ``510``/``511``/
``520`` lines and the unsolicited ``HANGUP`` line.

By default (a bare :class:`SimulatedChannel`) the call is answered, the caller
presses nothing and never hangs up, the sound files ``hello-world`` and
``beep`` exist (any other fails to play, as a missing file does), ``EXEC``
knows ``NoOp``, ``Verbose``, ``Log``, ``Set``, ``Answer`` and ``Hangup``, and
there are no ``GOSUB`` targets, speech engines or other channels.  Script
more through the channel's arguments: ``dtmf`` (:func:`spacedDigits`), ``hangupAt``,
``sounds``, ``applications`` (an :class:`Application` per name), ``subroutines`` (a
:class:`Subroutine` per location), ``variables``, ``database`` (an :class:`AstDB`),
``otherChannels``, ``speechEngines``.

It speaks bytes only and shares no code with StarPy's AGI client, so a test
that drives StarPy's server with it checks StarPy against Asterisk's rules,
not against itself.  Time goes through an injected
``twisted.internet.interfaces.IReactorTime`` (a
``twisted.internet.task.Clock`` in tests), so a call with minutes of
prompts runs in microseconds.

A call in memory::

    from twisted.internet.task import Clock
    from starpy import fastagi
    from starpy.testing.agi import SimulatedChannel, placeCallInMemory, spacedDigits

    channel = SimulatedChannel(
        request="agi://127.0.0.1:4573/menu",
        dtmf=spacedDigits("12", start=2.0, interval=1.0),
        hangupAt=30.0,
    )
    call = placeCallInMemory(fastagi.FastAGIFactory(main), channel, Clock())
    transcript = call.runUntilFinished()
    print(transcript.format())

Over TCP: ``placeCallTCP(reactor, "127.0.0.1", 4573, channel)`` returns a
Deferred that fires with the :class:`Transcript` when the server closes the
connection (Asterisk never closes a FastAGI socket itself).

Times are float seconds everywhere (StarPy's rule); times in a channel's
schedule (``dtmf``, ``hangupAt``) count from the moment the call connects.

The channel's scripts (``EXEC`` applications, ``GOSUB`` subroutines) are test
code, and when one raises, the exception is not turned into a reply: in
memory it comes out of the call that moved the bytes (``placeCallInMemory``,
``flush``, ``advance``, ``runUntilFinished``), so the test fails; over TCP
the reactor logs it as an unhandled error and drops the connection (a test
harness that fails on Twisted's logged failures, as StarPy's
``tests/conftest.py`` does, sees it); under AsyncAGI
(:mod:`starpy.testing.asyncagi`) it is a failed script of the fake AMI
server, logged at ``ERROR`` on ``starpy.testing.ami``.

The package holds one idea per module: ``_parsing`` (how res_agi reads a
line), ``_channel`` (the :class:`SimulatedChannel`), ``_transcript``,
``_waits`` and ``_caller`` (the protocol and its waits), ``_commands`` and
``_media`` (the command handlers), ``_placing`` (calls over an endpoint, TCP
or :mod:`starpy.testing.memory`).
"""

from __future__ import annotations

from starpy.testing.agi._caller import FakeAGICaller, log
from starpy.testing.agi._channel import (
    DEFAULT_SOUNDS,
    Application,
    AstDB,
    Recording,
    SimulatedChannel,
    Subroutine,
    spacedDigits,
)
from starpy.testing.agi._commands import AGI_COMMANDS, DEAD_SAFE_COMMANDS
from starpy.testing.agi._parsing import MAX_ARGUMENTS, agiBufferForVersion, parseAGIArguments
from starpy.testing.agi._placing import (
    FakeAGICallerFactory,
    InMemoryCall,
    placeCall,
    placeCallInMemory,
    placeCallTCP,
)
from starpy.testing.agi._transcript import Transcript, TranscriptEntry

__all__ = [
    "MAX_ARGUMENTS",
    "DEAD_SAFE_COMMANDS",
    "AGI_COMMANDS",
    "DEFAULT_SOUNDS",
    "Application",
    "Subroutine",
    "AstDB",
    "Recording",
    "SimulatedChannel",
    "TranscriptEntry",
    "Transcript",
    "FakeAGICaller",
    "FakeAGICallerFactory",
    "InMemoryCall",
    "parseAGIArguments",
    "agiBufferForVersion",
    "spacedDigits",
    "placeCall",
    "placeCallTCP",
    "placeCallInMemory",
    "log",
]
