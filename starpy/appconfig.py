"""Reading ``starpy.conf``, the configuration of :mod:`starpy.utilapplication`.

``starpy.conf`` is StarPy's own INI file (read with ``configparser``, not
an Asterisk ``.conf``)::

    [AMI]
    username = starpy
    secret = starpy-secret
    server = 127.0.0.1
    port = 5038

    [FastAGI]
    port = 4573
    interface = 127.0.0.1

Which files are read (see :func:`configFiles`):

1. an explicit path (``UtilApplication("site.conf")``, ``starpy ... -c``):
   that file alone, and it must exist;
2. otherwise ``$STARPY_CONF`` if set: that file alone, and it must exist;
3. otherwise ``~/.starpy.conf`` then ``./starpy.conf``, both optional; a
   key in the current directory's file overrides the same key in the home
   directory's.  With neither file every key has its default.

Comments: a line whose first non-blank character is ``;`` or ``#``, and the
rest of a line from a ``;`` that starts the value or follows whitespace
(``username = starpy ; the AMI user``).  Unlike Asterisk's own ``.conf``
files, where any ``;`` starts a comment, a ``;`` right after another
character stays in the value
(``secret = pa;ss``); write ``\\;`` for a literal ``;`` anywhere
(``secret = a \\; b`` is ``a ; b``).  See :func:`stripInlineComment`.

Every key, its default and its meaning is in :data:`OPTIONS` (and in
``starpy.conf.example``).  :func:`loadConfiguration` collects every problem
(unknown section or key, bad value, unreadable file) with the file, section
and key it concerns, instead of stopping at the first.
"""
from __future__ import annotations

import ast
import configparser
import ipaddress
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from starpy.error import StarpyConfigError  # StarpyConfigError: exported here too

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "SEARCH_PATH",
    "OPTIONS",
    "Option",
    "ConfigProblem",
    "StarpyConfig",
    "StarpyConfigError",
    "configFiles",
    "loadConfiguration",
    "stripInlineComment",
]

#: The environment variable naming the configuration file.
ENVIRONMENT_VARIABLE = "STARPY_CONF"

#: The files read when neither a path nor ``$STARPY_CONF`` is given, lowest
#: precedence first.
SEARCH_PATH: Tuple[str, ...] = ("~/.starpy.conf", "starpy.conf")


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file.

    :ivar file: the file, or ``None`` when no file is to blame.
    :ivar section: the section name, or ``None``.
    :ivar key: the key, or ``None``.
    :ivar message: what is wrong.
    :ivar line: the line in *file*, when one line is to blame.
    """

    file: Optional[str]
    section: Optional[str]
    key: Optional[str]
    message: str
    line: Optional[int] = None

    def describe(self) -> str:
        """``file:line: [section] key: message``, leaving out what is unknown."""
        where = []
        if self.file is not None:
            where.append(self.file + (":%d:" % self.line if self.line is not None else ":"))
        if self.section is not None:
            where.append("[%s]" % (self.section,))
        if self.key is not None:
            where.append(self.key + ":")
        elif self.section is not None:
            where[-1] += ":"
        return " ".join(where + [self.message])

    def __str__(self) -> str:
        return self.describe()


def stripInlineComment(value: str) -> str:
    r"""*value* without its inline comment, with ``\;`` read as ``;``.

    A ``;`` at the start of the value or after a space or tab starts a
    comment that runs to the end of the line; the blanks before it go too.
    Any other ``;`` is part of the value, and ``\;`` is always a literal
    ``;``.  Continuation lines of a multi-line value are read the same way,
    each on its own.  No other backslash is touched (``C:\temp`` stays).

    >>> stripInlineComment("starpy        ; required to use the AMI")
    'starpy'
    >>> stripInlineComment("pa;ss")
    'pa;ss'
    >>> stripInlineComment(r"a \; b")
    'a ; b'
    """
    return "\n".join(_uncommentLine(line) for line in value.split("\n"))


def _uncommentLine(line: str) -> str:
    kept: List[str] = []
    index = 0
    while index < len(line):
        character = line[index]
        if character == "\\" and line.startswith(";", index + 1):
            kept.append(";")
            index += 2
            continue
        if character == ";" and (index == 0 or line[index - 1] in " \t"):
            return "".join(kept).rstrip(" \t")
        kept.append(character)
        index += 1
    return "".join(kept)


def _text(value: str) -> object:
    return value


def _boolean(value: str) -> object:
    lowered = value.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise ValueError("expected yes or no, got %r" % (value,))


def _port(value: str) -> object:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("expected a port number (0-65535), got %r" % (value,)) from None
    if not 0 <= number <= 65535:
        raise ValueError("expected a port number (0-65535), got %r" % (value,))
    return number


def _positiveInt(value: str) -> object:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("expected a whole number, got %r" % (value,)) from None
    if number < 1:
        raise ValueError("expected a number of 1 or more, got %r" % (value,))
    return number


def _seconds(value: str) -> object:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("expected seconds (a number), got %r" % (value,)) from None
    if not number > 0 or number != number or number == float("inf"):
        raise ValueError("expected a positive number of seconds, got %r" % (value,))
    return number


def _optionalSeconds(value: str) -> object:
    if value.strip().lower() in ("", "none", "0"):
        return None
    return _seconds(value)


def _addressList(value: str) -> object:
    entries = [part for part in value.replace(",", " ").split() if part]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError("%r is not an address or network such as 10.0.0.5 or "
                             "192.168.1.0/24" % (entry,)) from None
    return tuple(entries)


def _interface(value: str) -> object:
    text = value.strip()
    if text:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ValueError("expected an IP address to listen on (or empty for every "
                             "IPv4 address), got %r" % (value,)) from None
    return text


def _nonEmpty(value: str) -> object:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


@dataclass(frozen=True)
class Option:
    """One key of ``starpy.conf``: where it lives, its default, how it parses.

    :ivar attribute: the specifier attribute it sets (camelCase).
    """

    section: str
    key: str
    default: str
    parse: Callable[[str], object]
    attribute: str
    doc: str

    def defaultValue(self) -> object:
        """The parsed default."""
        return self.parse(self.default)


#: Every key of ``starpy.conf``, in the order of ``starpy.conf.example``.
OPTIONS: Tuple[Option, ...] = (
    Option("AMI", "username", "", _text, "username",
           "AMI user: a [section] of Asterisk's manager.conf"),
    Option("AMI", "secret", "", _text, "secret",
           "its secret (never logged); keep this file private"),
    Option("AMI", "server", "127.0.0.1", _nonEmpty, "server", "Asterisk's host name or address"),
    Option("AMI", "port", "5038", _port, "port",
           "AMI port (5038; Asterisk's TLS port is usually 5039)"),
    Option("AMI", "timeout", "5.0", _seconds, "timeout",
           "seconds for connecting and logging in"),
    Option("AMI", "action_timeout", "30.0", _optionalSeconds, "actionTimeout",
           "default seconds to wait for each action's reply (none: wait forever)"),
    Option("AMI", "md5", "no", _boolean, "md5",
           "log in with the MD5 challenge instead of sending the secret"),
    Option("AMI", "tls", "no", _boolean, "tls",
           "connect with TLS (manager.conf tlsenable=yes)"),
    Option("AMI", "tls_ca", "", _text, "tlsCA",
           "directory of PEM CA certificates to verify Asterisk with "
           "(empty: the system's trust store)"),
    Option("AMI", "tls_certificate", "", _text, "tlsCertificate",
           "client certificate (PEM), if Asterisk asks for one"),
    Option("AMI", "tls_key", "", _text, "tlsKey",
           "the client certificate's private key (PEM)"),
    Option("AMI", "keepalive", "none", _optionalSeconds, "keepalive",
           "send Ping after this many idle seconds (none: never)"),
    Option("FastAGI", "port", "4573", _port, "port", "port to listen on (0: any free port)"),
    Option("FastAGI", "interface", "127.0.0.1", _interface, "interface",
           "address to listen on; empty for every IPv4 address (then set allowed_clients)"),
    Option("FastAGI", "context", "default", _text, "context",
           "dialplan context that reaches this server, for applications that "
           "originate calls back into it"),
    Option("FastAGI", "allowed_clients", "", _addressList, "allowedClients",
           "addresses or networks allowed to connect, separated by commas or "
           "spaces (empty: any client)"),
    Option("FastAGI", "backlog", "1024", _positiveInt, "backlog",
           "listen queue length: connections Asterisk may have waiting to be "
           "accepted (bursts of calls; the system caps it at net.core.somaxconn)"),
)

_SECTIONS: Dict[str, str] = {option.section.lower(): option.section for option in OPTIONS}


@dataclass
class StarpyConfig:
    """The result of :func:`loadConfiguration`.

    :ivar files: the files read, lowest precedence first.
    :ivar values: ``{(section, key): parsed value}`` for every key of
        :data:`OPTIONS` (the default where no file sets it).
    :ivar origins: ``{(section, key): file}`` for the keys a file set.
    :ivar problems: every problem found; empty when the files are good.
    """

    files: List[str] = field(default_factory=list)
    values: Dict[Tuple[str, str], object] = field(default_factory=dict)
    origins: Dict[Tuple[str, str], str] = field(default_factory=dict)
    problems: List[ConfigProblem] = field(default_factory=list)

    def get(self, section: str, key: str) -> object:
        """The value of *key* in *section* (canonical names, e.g. ``"AMI"``)."""
        return self.values[(section, key)]

    def section(self, section: str) -> Dict[str, object]:
        """``{attribute: value}`` of a section, for the specifiers."""
        return {option.attribute: self.values[(option.section, option.key)]
                for option in OPTIONS if option.section == section}

    def raiseProblems(self) -> None:
        """Raise :class:`StarpyConfigError` if there is any problem."""
        if self.problems:
            raise StarpyConfigError(self.problems)


def configFiles(
    path: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    searchPath: Sequence[str] = SEARCH_PATH,
) -> Tuple[List[str], bool]:
    """The files to read, lowest precedence first, and whether they must exist.

    See the module documentation for the rules.  Paths are expanded
    (``~``, ``$VAR``) and made absolute.
    """
    environment = os.environ if environ is None else environ

    def expand(name: str) -> str:
        return os.path.abspath(os.path.expandvars(os.path.expanduser(name)))

    if path:
        return [expand(path)], True
    named = environment.get(ENVIRONMENT_VARIABLE)
    if named:
        return [expand(named)], True
    return [expand(name) for name in searchPath], False


def _syntaxProblem(filename: str, error: configparser.Error) -> ConfigProblem:
    """One line naming the file and line of what ``configparser`` refused."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        return ConfigProblem(filename, None, None, "%r comes before any [section] (expected "
                             "[AMI] or [FastAGI] first)" % (error.line.strip(),), error.lineno)
    if isinstance(error, configparser.ParsingError):
        lineno, shown = error.errors[0]
        try:  # configparser keeps the repr() of the line
            text = str(ast.literal_eval(shown)).strip()
        except (ValueError, SyntaxError):
            text = shown
        more = len(error.errors) - 1
        return ConfigProblem(filename, None, None, "cannot read %r: expected [section], "
                             "key = value or a comment%s" % (
                                 text, " (and %d more such line%s)" % (
                                     more, "" if more == 1 else "s") if more else ""),
                             lineno)
    if isinstance(error, configparser.DuplicateSectionError):
        return ConfigProblem(filename, error.section, None, "section given twice",
                             error.lineno)
    if isinstance(error, configparser.DuplicateOptionError):
        return ConfigProblem(filename, error.section, error.option,
                             "key given twice in the section", error.lineno)
    return ConfigProblem(filename, None, None, " ".join(str(error).split()))


def loadConfiguration(
    path: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    searchPath: Sequence[str] = SEARCH_PATH,
) -> StarpyConfig:
    """Read ``starpy.conf`` (see :func:`configFiles` for which files).

    Never raises for a problem in the files: the result's ``problems`` list
    them all (call :meth:`StarpyConfig.raiseProblems` to fail on them).
    """
    candidates, required = configFiles(path, environ, searchPath)
    result = StarpyConfig()
    for option in OPTIONS:
        result.values[(option.section, option.key)] = option.defaultValue()
    known = {(option.section, option.key): option for option in OPTIONS}
    for filename in candidates:
        if not os.path.exists(filename):
            if required:
                result.problems.append(ConfigProblem(filename, None, None, "no such file"))
            continue
        # No DEFAULT section: a [DEFAULT] in the file is an unknown section.
        # Inline comments are read by stripInlineComment, not configparser,
        # so that a literal ";" can be written as "\\;".
        parser = configparser.ConfigParser(interpolation=None, strict=True,
                                           default_section="\x00")
        try:
            with open(filename, encoding="utf-8") as stream:
                parser.read_file(stream, filename)
        except (OSError, UnicodeDecodeError) as e:
            result.problems.append(ConfigProblem(filename, None, None, "cannot read: %s" % (e,)))
            continue
        except configparser.Error as e:
            result.problems.append(_syntaxProblem(filename, e))
            continue
        result.files.append(filename)
        for sectionName in parser.sections():
            canonical = _SECTIONS.get(sectionName.lower())
            if canonical is None:
                result.problems.append(ConfigProblem(
                    filename, sectionName, None,
                    "unknown section (known: %s)" % ", ".join(sorted(set(_SECTIONS.values())))))
                continue
            for key, raw in parser.items(sectionName, raw=True):
                found = known.get((canonical, key))
                if found is None:
                    names = [o.key for o in OPTIONS if o.section == canonical]
                    result.problems.append(ConfigProblem(
                        filename, sectionName, key,
                        "unknown key (known in [%s]: %s)" % (canonical, ", ".join(names))))
                    continue
                try:
                    value = found.parse(stripInlineComment(raw))
                except ValueError as e:
                    result.problems.append(ConfigProblem(filename, sectionName, key, str(e)))
                    continue
                result.values[(canonical, key)] = value
                result.origins[(canonical, key)] = filename
    return result
