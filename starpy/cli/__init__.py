"""The ``starpy`` command (also ``python -m starpy``): the parser and ``main``.

The sub-commands live beside it (:mod:`starpy.cli.ami` for ``events``,
``action`` and ``originate``; :mod:`starpy.cli.serve`,
:mod:`starpy.cli.checkconfig`, :mod:`starpy.cli.fake`,
:mod:`starpy.cli.demo`), and the exit statuses in ``starpy.cli._status``.

Each sub-command is a function taking the parsed arguments and returning an
exit status; :data:`EXIT_CODES` lists the distinct statuses used.  This is the
only module that configures logging or touches the global reactor.
"""
from __future__ import annotations

import argparse
import math
import sys
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    NoReturn,
    Optional,
    Sequence,
    TextIO,
    Tuple,
)

from twisted.internet import defer

__all__ = [
    "main",
    "runCommand",
    "EXIT_CODES",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_FAILURE",
    "EXIT_BAD_CONFIG",
    "EXIT_UNREACHABLE",
    "EXIT_LOGIN_FAILED",
    "EXIT_ACTION_FAILED",
]

from starpy.cli._status import (
    EXIT_ACTION_FAILED,
    EXIT_BAD_CONFIG,
    EXIT_CODES,
    EXIT_FAILURE,
    EXIT_LOGIN_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)

#: An asynchronous sub-command: ``run(reactor, args, out, err)`` -> exit status.
AsyncCommand = Callable[[Any, argparse.Namespace, TextIO, TextIO], Awaitable[int]]

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad command line reported in one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, "%s: %s (see %s --help)\n" % (
            self.prog, " ".join(message.split()), self.prog))


def _wholeNumber(text: str, what: str, low: int, high: Optional[int] = None) -> int:
    try:
        value = int(text.strip(), 10)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError("expected %s, got %r" % (what, text))
    return value


def _portNumber(text: str) -> int:
    """A TCP port for ``--port``: 0 (any free port) to 65535."""
    return _wholeNumber(text, "a port number (0-65535)", 0, 65535)


def _positive(text: str) -> int:
    return _wholeNumber(text, "a whole number, 1 or more", 1)


#: The most worker processes ``serve --workers`` starts.
MAX_WORKERS = 256


def _workerCount(text: str) -> int:
    return _wholeNumber(text, "a number of workers from 1 to %d" % MAX_WORKERS, 1, MAX_WORKERS)


def _fileDescriptor(text: str) -> int:
    return _wholeNumber(text, "a file descriptor (0 or more)", 0)


#: Asterisk reads the Originate ``Timeout`` (milliseconds) and ``Priority`` as C ints.
_MAX_INT = 2**31 - 1
#: The longest ``originate --timeout``, in seconds.
MAX_ORIGINATE_TIMEOUT = _MAX_INT // 1000


def _originateTimeout(text: str) -> float:
    """Seconds, sent as whole milliseconds: at least one, within a C int."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0.001 <= value <= MAX_ORIGINATE_TIMEOUT):  # NaN fails too
        raise argparse.ArgumentTypeError(
            "expected seconds, from 0.001 to %d, got %r" % (MAX_ORIGINATE_TIMEOUT, text))
    return value


def _priority(text: str) -> str:
    """A dialplan priority number, as the text sent."""
    return str(_wholeNumber(text, "a priority number (1 or more)", 1, _MAX_INT))


def _buildParser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _Parser(
        prog="starpy", description="Drive Asterisk from Twisted: AMI, FastAGI, AsyncAGI."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    # Sub-commands register themselves here, one function per module, e.g.
    #   _addAGICommand(commands)
    _addDemoCommand(commands)
    _addAGICommand(commands)
    _addServeCommand(commands)
    _addEventsCommand(commands)
    _addActionCommand(commands)
    _addOriginateCommand(commands)
    _addCheckConfigCommand(commands)
    _addFakeCommand(commands)
    return parser


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    """The command line parsed; an unknown option is reported by the
    sub-command it was given to (``starpy serve: unrecognized arguments``),
    one line, exit status 2."""
    parser = _buildParser()
    args, extras = parser.parse_known_args(list(argv))
    if extras:
        commands = [action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction)]
        chosen = commands[0].choices.get(args.command) if commands else None
        (chosen or parser).error("unrecognized arguments: %s" % " ".join(extras))
    return args


def _addDemoCommand(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    demo = commands.add_parser(
        "demo",
        help="run StarPy against the built-in fake Asterisk (no Asterisk needed)",
        description="Log into the built-in fake Asterisk's AMI, send actions, print events; "
        "then serve the demo IVR over FastAGI to calls that the fake Asterisk places, "
        "each caller following a script, and print each call and a summary.",
    )
    demo.add_argument("--calls", type=int, default=5,
                      help="IVR calls to place (default 5, one per caller script)")
    demo.add_argument("--concurrency", type=int, default=5,
                      help="calls in progress at once (default 5)")
    demo.add_argument("--show", type=int, default=None,
                      help="print the dialogue of the first N calls (default: all when "
                      "there are at most 10)")
    demo.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    demo.set_defaults(run=_runDemo)


def _runDemo(args: argparse.Namespace) -> int:
    from twisted.internet import defer, task

    from starpy.cli.demo import runDemo

    _configureLogging(args.verbose)
    if args.calls < 0 or args.concurrency < 1 or (args.show is not None and args.show < 0):
        print("starpy demo: --calls must be 0 or more, --concurrency 1 or more, "
              "--show 0 or more", file=sys.stderr)
        return EXIT_USAGE
    status: list[int] = []
    # A progress line rewritten with "\r" only on a terminal, not into a log file.
    progress = sys.stderr if args.calls > 10 and sys.stderr.isatty() else None

    async def run(reactor: object) -> None:
        status.append(await runDemo(reactor, sys.stdout, calls=args.calls,
                                    concurrency=args.concurrency, show=args.show,
                                    progress=progress))

    try:
        task.react(lambda reactor: defer.ensureDeferred(run(reactor)))
    except SystemExit as exit:
        if exit.code:
            return int(exit.code) if isinstance(exit.code, int) else EXIT_FAILURE
    return status[0] if status else EXIT_FAILURE


def _addAGICommand(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    agi = commands.add_parser(
        "agi",
        help="run a handler as a classic AGI script (stdin/stdout)",
        description="Run HANDLER as a classic AGI script: Asterisk's AGI(script) talks to it "
        "on stdin/stdout.  Logs go to stderr.",
    )
    agi.add_argument("handler", metavar="HANDLER", help="module:function, called with the session")
    agi.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    agi.set_defaults(run=_runAGI)


def _runAGI(args: argparse.Namespace) -> int:
    from twisted.internet import reactor

    from starpy.classicagi import runClassicAGI
    from starpy.cli.ami import CommandError
    from starpy.cli.serve import loadHandler

    _configureLogging(args.verbose)
    moduleName, _, functionName = args.handler.partition(":")
    if not moduleName or not functionName:
        print("starpy agi: HANDLER must be module:function", file=sys.stderr)
        return EXIT_USAGE
    try:
        handler = loadHandler(args.handler)
    except CommandError as e:
        print("starpy agi: %s" % (e.message,), file=sys.stderr)
        return e.status
    return runClassicAGI(handler, reactor)


if TYPE_CHECKING:  # pragma: no cover
    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _configOption(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="PATH",
                        help="starpy.conf to read (default: $STARPY_CONF, else ~/.starpy.conf "
                        "and ./starpy.conf)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")


def _addServeCommand(commands: "_SubParsers") -> None:
    serve = commands.add_parser(
        "serve",
        help="run FastAGI handlers standalone (starpy.conf [FastAGI])",
        description="Serve FastAGI calls with the handlers given.  ROUTE is module:function "
        "(the default handler), EXTEN=module:function, EXTEN@CONTEXT=module:function, "
        "@CONTEXT=module:function, or /PATH=module:function (the script path of "
        "AGI(agi://host:port/PATH)).",
    )
    serve.add_argument("routes", nargs="+", metavar="ROUTE", help="what to serve, see above")
    _configOption(serve)
    serve.add_argument("--port", type=_portNumber,
                       help="listen on this port (0-65535, 0: any free one) instead of "
                       "[FastAGI] port")
    serve.add_argument("--interface", help="listen on this address instead of [FastAGI] interface")
    serve.add_argument("--backlog", type=_positive, metavar="N",
                       help="listen queue length (1 or more) instead of [FastAGI] backlog "
                       "(default 1024)")
    serve.add_argument("--workers", type=_workerCount, default=1, metavar="N",
                       help="run N processes sharing one listening socket (default 1, "
                       "at most %d)" % MAX_WORKERS)
    serve.add_argument("--adopt-fd", type=_fileDescriptor, help=argparse.SUPPRESS)
    serve.add_argument("--family", choices=("inet", "inet6"), default="inet",
                       help=argparse.SUPPRESS)
    _metricsOption(serve)
    serve.set_defaults(run=_asyncRunner("serve", "starpy.cli.serve", "runServe"))


def _metricsOption(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", metavar="HOST:PORT",
                        help="serve Prometheus metrics over HTTP there (e.g. 127.0.0.1:9108; "
                        "needs the metrics extra)")


def _addEventsCommand(commands: "_SubParsers") -> None:
    events = commands.add_parser(
        "events",
        help="log into the AMI and print live events",
        description="Print AMI events as they come.  PATTERN is a glob on the event name "
        "(Hangup, 'Queue*'; any of them matches) or Header=glob on a header's value "
        "(Channel='PJSIP/*'; all of them must match).  Any case.",
    )
    events.add_argument("patterns", nargs="*", metavar="PATTERN")
    _configOption(events)
    events.add_argument("--count", type=_positive, metavar="N",
                        help="stop after N events (1 or more)")
    events.add_argument("--json", action="store_true",
                        help="print one JSON object per event per line: every header "
                        "(a repeated one as a list) and the server under \"_server\"")
    _metricsOption(events)
    events.add_argument("--server-name", metavar="NAME",
                        help="the server's name in --json output (default: its address, "
                        "as HOST:PORT)")
    events.set_defaults(run=_asyncRunner("events", "starpy.cli.ami", "runEvents"))


def _addActionCommand(commands: "_SubParsers") -> None:
    action = commands.add_parser(
        "action",
        help="send one AMI action and print the response",
        description="Send action NAME with the headers given and print the response; "
        "for a list action, also each item and the closing event.",
    )
    action.add_argument("name", metavar="NAME", help="the action, e.g. CoreShowChannels")
    action.add_argument("headers", nargs="*", default=[], metavar="KEY=VALUE",
                        help="headers to send (optional)")
    _configOption(action)
    action.set_defaults(run=_asyncRunner("action", "starpy.cli.ami", "runAction"))


def _addOriginateCommand(commands: "_SubParsers") -> None:
    originate = commands.add_parser(
        "originate",
        help="originate a call and report its OriginateResponse",
        description="Originate a call from CHANNEL to a dialplan location (--context, "
        "--exten, --priority) or an application (--application, --data), "
        "asynchronously, and print the OriginateResponse event.",
    )
    originate.add_argument("channel", metavar="CHANNEL", help="e.g. PJSIP/100 or Local/s@ivr")
    _configOption(originate)
    originate.add_argument("--context", help="default: [FastAGI] context")
    originate.add_argument("--exten", default="s", help="default: s")
    originate.add_argument("--priority", type=_priority, default="1",
                           help="a priority number (default: 1)")
    originate.add_argument("--application", help="run this application instead of a dialplan "
                           "location")
    originate.add_argument("--data", help="the application's arguments, as the dialplan "
                           "writes them (commas separate, sent unchanged)")
    originate.add_argument("--timeout", type=_originateTimeout, default=30.0,
                           help="seconds to wait for CHANNEL to answer (default 30)")
    originate.add_argument("--callerid", help='e.g. \'"Front desk" <100>\'')
    originate.add_argument("--account", help="account code")
    originate.add_argument("--variable", action="append", default=[], metavar="NAME=VALUE",
                           help="channel variable (repeatable); the value reaches the "
                           "channel exactly, commas, quotes and backslashes included")
    originate.set_defaults(run=_asyncRunner("originate", "starpy.cli.ami", "runOriginate"))


def _addCheckConfigCommand(commands: "_SubParsers") -> None:
    check = commands.add_parser(
        "check-config",
        help="validate starpy.conf and report every problem at once",
        description="Read starpy.conf as the other commands would, print the settings and "
        "every problem.  With --manager-conf, also show what the AMI user may read and "
        "write according to Asterisk's manager.conf.",
    )
    _configOption(check)
    check.add_argument("--manager-conf", metavar="PATH", help="Asterisk's manager.conf")
    check.add_argument("--user", help="the AMI user to look up (default: [AMI] username)")
    check.set_defaults(run=_runCheckConfig)


def _runCheckConfig(args: argparse.Namespace) -> int:
    from starpy.cli.checkconfig import runCheckConfig

    return runCheckConfig(args, sys.stdout, sys.stderr)


def _fastAGIAddress(text: str) -> Tuple[str, int]:
    """``HOST:PORT`` (port 1-65535) as ``(host, port)``."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError("expected HOST:PORT (port 1-65535), got %r" % (text,))
    return host, int(port)


def _dtmfDigits(text: str) -> str:
    """DTMF digits: 0-9, ``*``, ``#``, A-D."""
    if not text or any(c not in "0123456789*#ABCDabcd" for c in text):
        raise argparse.ArgumentTypeError("expected DTMF digits (0-9, *, #, A-D), got %r" % (text,))
    return text.upper()


def _seconds(text: str) -> float:
    """Seconds, more than 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 10**9:  # NaN fails too
        raise argparse.ArgumentTypeError("expected seconds (more than 0), got %r" % (text,))
    return value


def _addFakeCommand(commands: "_SubParsers") -> None:
    fake = commands.add_parser(
        "fake",
        help="run StarPy's fake Asterisk on loopback, to try the other commands",
        description="Run StarPy's fake Asterisk AMI server on 127.0.0.1 (user starpy, secret "
        "starpy-secret) and print the starpy.conf lines that reach it; with --calls N, also "
        "place N scripted FastAGI calls, one after another, to a FastAGI server (such as "
        "'starpy serve').  Runs until interrupted, for --for SECONDS, or (with --calls and "
        "no --for) until the last call ends.",
    )
    fake.add_argument("--ami-port", type=_portNumber, default=5038, metavar="PORT",
                      help="AMI port on 127.0.0.1 (default 5038; 0: any free one)")
    fake.add_argument("--for", dest="for_", type=_seconds, metavar="SECONDS",
                      help="stop after SECONDS")
    fake.add_argument("--calls", type=_wholeNumber0, default=0, metavar="N",
                      help="FastAGI calls to place, one after another (default 0)")
    fake.add_argument("--fastagi", type=_fastAGIAddress, metavar="HOST:PORT",
                      help="the FastAGI server to call (default 127.0.0.1:4573)")
    fake.add_argument("--script", default="", metavar="PATH",
                      help="the script path of the calls' AGI URL (agi://HOST:PORT/PATH)")
    fake.add_argument("--exten", default="s", help="the calls' extension (default s)")
    fake.add_argument("--context", default="default", help="the calls' context (default "
                      "default)")
    fake.add_argument("--callerid", metavar="NUMBER", help="the callers' number")
    fake.add_argument("--dtmf", type=_dtmfDigits, metavar="DIGITS",
                      help="digits each caller presses: the first 2 s after the call "
                      "connects, then one a second")
    fake.add_argument("--hangup-after", type=_seconds, metavar="SECONDS",
                      help="each caller hangs up after SECONDS (default: stays on the line)")
    fake.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    fake.set_defaults(run=_asyncRunner("fake", "starpy.cli.fake", "runFake"))


def _wholeNumber0(text: str) -> int:
    return _wholeNumber(text, "a whole number, 0 or more", 0)


def _configureLogging(verbose: bool) -> None:
    import logging

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not verbose:
        logging.getLogger("starpy.cli.serve").setLevel(logging.INFO)


def _asyncRunner(name: str, module: str, function: str) -> Command:
    """The synchronous entry of an asynchronous sub-command: runs it on the
    global reactor with ``task.react``."""

    def run(args: argparse.Namespace) -> int:
        from twisted.internet import task

        _configureLogging(args.verbose)
        status = [EXIT_OK]  # interrupted (Ctrl-C, SIGTERM): a normal end

        def start(reactor: Any) -> defer.Deferred[None]:
            d = _runAsync(name, module, function, reactor, args, sys.stdout, sys.stderr)
            return d.addCallback(lambda code: status.__setitem__(0, code))

        try:
            task.react(start)
        except SystemExit as exit:
            if exit.code and status[0] == EXIT_OK:
                return int(exit.code) if isinstance(exit.code, int) else EXIT_FAILURE
        return status[0]

    run.asyncCommand = (name, module, function)  # type: ignore[attr-defined]
    return run


def _runAsync(name: str, module: str, function: str, reactor: Any, args: argparse.Namespace,
              out: TextIO, err: TextIO) -> defer.Deferred[int]:
    import importlib

    from starpy.cli.ami import CommandError, escapingStream

    command: AsyncCommand = getattr(importlib.import_module(module), function)
    out, err = escapingStream(out), escapingStream(err)

    async def run() -> int:
        try:
            return await command(reactor, args, out, err)
        except CommandError as e:
            _report(err, "starpy %s: %s" % (name, e.message))
            return e.status
        except Exception as e:  # noqa: BLE001 - reported in one line, traceback with -v
            import logging

            logging.getLogger("starpy.cli").debug("starpy %s failed", name, exc_info=True)
            _report(err, "starpy %s: unexpected error: %s: %s" % (name, type(e).__name__, e))
            return EXIT_FAILURE

    return defer.ensureDeferred(run())


def _report(err: TextIO, message: str) -> None:
    """Print *message* to *err* as one line that the stream can encode."""
    from starpy.cli.ami import printable

    try:
        print(printable(" ".join(message.splitlines()), getattr(err, "encoding", None)),
              file=err, flush=True)
    except (OSError, ValueError):  # stderr itself is gone: nothing left to tell
        pass


def runCommand(argv: Sequence[str], reactor: Any, out: TextIO, err: TextIO) -> defer.Deferred[int]:
    """Run an asynchronous sub-command (``serve``, ``events``, ``action``,
    ``originate``, ``fake``) on a running *reactor*, printing to *out* and *err*.

    For tests and for embedding: it configures no logging.

    :return: a Deferred firing with the exit status.
    :raises SystemExit: on a command line argparse rejects.
    :raises ValueError: for a sub-command that is not asynchronous.
    """
    args = _parse(argv)
    spec = getattr(args.run, "asyncCommand", None)
    if spec is None:
        raise ValueError("%s is not an asynchronous sub-command" % (args.command,))
    name, module, function = spec
    return _runAsync(name, module, function, reactor, args, out, err)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``starpy`` command with *argv* (default ``sys.argv[1:]``); returns
    the exit status (see :data:`EXIT_CODES`)."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    run: Command = args.run
    return run(args)
