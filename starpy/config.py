"""Read Asterisk's own configuration files (``extensions.conf``, ``manager.conf``...).

The syntax is the one Asterisk's ``main/config.c`` implements:

- ``[name]`` starts a section; ``[name](!)`` a template; ``[name](a,b)``
  inherits the entries of ``a`` then ``b`` (copied first, in that order);
  ``[name](+)`` adds to the earlier section of that name.
- ``key = value`` and ``key => value`` (the operator is kept, see
  :attr:`Entry.operator`); ``key += more`` appends to the last ``key``.
  Repeated keys are kept in order.  Leading and trailing blanks (every
  character below ``!``) are trimmed from names and values.
- ``;`` starts a comment, ``\\;`` is a literal ``;``, ``;-- ... --;`` is a
  block comment that may span lines and nest.
- ``#include``, ``#tryinclude`` (a missing file is fine) and ``#exec``.
  Paths are relative to the including file and may be globs
  (``*``, ``?``, ``[...]``, ``{a,b}``).  ``#exec`` runs a shell command and
  parses its output; it is refused unless ``allowExec=True`` is given.

Files are read as UTF-8; bytes that are not UTF-8 are kept as lone
surrogates (Python's ``surrogateescape``), so reading never fails on bytes and
``value.encode('utf-8', 'surrogateescape')`` gives back the original bytes.

Malformed input raises :class:`starpy.error.ConfigError` naming the file and
line.  Asterisk itself only *warns* about some problems (a line without
``=``, an unknown directive, an unterminated block comment...) and skips
them; with ``strict=False`` we do the same and record a
:class:`ConfigWarning` in :attr:`Config.warnings`.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

from starpy._configmodel import Config, ConfigWarning, Entry, ExecRunner, Include, Section
from starpy._configparser import Parser
from starpy.error import ConfigError

__all__ = [
    "Config",
    "ConfigError",
    "ConfigWarning",
    "Entry",
    "Include",
    "ManagerGeneral",
    "ManagerUser",
    "Section",
    "managerGeneral",
    "managerUserPermissions",
    "parseConfig",
    "readConfig",
]

def parseConfig(
    text: Union[str, bytes],
    filename: str = "<string>",
    *,
    allowExec: bool = False,
    execRunner: Optional[ExecRunner] = None,
    strict: bool = True,
) -> Config:
    """Parse configuration text (``bytes`` are decoded as files are).

    :param filename: the name used in positions and errors; ``#include``
        paths are relative to its directory (the current directory for the
        default ``"<string>"``).
    :param allowExec: run ``#exec`` commands (through ``/bin/sh``, stdout
        and stderr together, as Asterisk does) and parse their output;
        refused when false.
    :param execRunner: replaces the shell for ``#exec`` (takes the command,
        returns its output); for tests and sandboxes.
    :param strict: raise :class:`ConfigError` for what Asterisk only warns
        about; when false, record a :class:`ConfigWarning` and go on.
    :raises ConfigError: for malformed input, with ``file`` and ``line``.
    """

    parser = Parser(strict=strict, allowExec=allowExec, execRunner=execRunner)
    return parser.parseMain(text, filename)


def readConfig(
    path: Union[str, "os.PathLike[str]"],
    *,
    allowExec: bool = False,
    execRunner: Optional[ExecRunner] = None,
    strict: bool = True,
) -> Config:
    """Read and parse the configuration file at ``path``.

    Arguments are those of :func:`parseConfig`.

    :raises OSError: when ``path`` itself cannot be read.
    :raises ConfigError: for malformed input, with ``file`` and ``line``.
    """
    filename = os.fspath(path)
    with open(filename, "rb") as f:
        data = f.read()
    return parseConfig(
        data, filename, allowExec=allowExec, execRunner=execRunner, strict=strict
    )


@dataclass(frozen=True)
class ManagerUser:
    """What ``manager.conf`` grants one AMI user.

    :ivar name: the user name asked for.
    :ivar exists: whether ``manager.conf`` defines that user.
    :ivar read: the read permission classes, lower-cased, in order
        (``("all",)``, ``("call", "agent")``...); empty if not set.
    :ivar write: the write permission classes, likewise.
    :ivar permit: every ``permit`` value, in order.
    :ivar deny: every ``deny`` value, in order.
    :ivar acl: every named ``acl`` value, in order.
    :ivar file: where the user's section starts (``None`` if absent);
    :ivar line: its line.
    """

    name: str
    exists: bool
    read: Tuple[str, ...] = ()
    write: Tuple[str, ...] = ()
    permit: Tuple[str, ...] = ()
    deny: Tuple[str, ...] = ()
    acl: Tuple[str, ...] = ()
    file: Optional[str] = None
    line: Optional[int] = None
    #: ``("permit" | "deny", network)`` in file order, as Asterisk applies them.
    rules: Tuple[Tuple[str, str], ...] = ()
    #: The user's ``secret`` (``None``: none set); never shown by ``repr()``.
    secret: Optional[str] = field(default=None, repr=False)

    def allowsAddress(self, address: str) -> Optional[bool]:
        """Whether ``permit``/``deny`` let a client at *address* log in.

        Asterisk starts from "allowed" and applies every rule in file
        order, the last rule whose network holds the address deciding.
        ``None`` when that cannot be told here: the user names an ``acl``
        (defined in ``acl.conf``), or a rule is not a plain network such
        as ``10.0.0.0/8``, ``10.0.0.0/255.0.0.0`` or ``10.0.0.5``.
        """
        if self.acl:
            return None
        client = ipaddress.ip_address(address)
        if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
            client = client.ipv4_mapped
        allowed = True
        for sense, network in self.rules:
            try:
                parsed = ipaddress.ip_network(network.strip(), strict=False)
            except ValueError:
                return None
            if parsed.version == client.version and client in parsed:
                allowed = sense == "permit"
        return allowed

    def canRead(self, permission: str) -> bool:
        """Whether events of class ``permission`` reach this user."""
        return "all" in self.read or permission.lower() in self.read

    def canWrite(self, permission: str) -> bool:
        """Whether this user may send actions of class ``permission``."""
        return "all" in self.write or permission.lower() in self.write


def _permissionClasses(value: Optional[str]) -> Tuple[str, ...]:
    if value is None:
        return ()
    return tuple(p.strip().lower() for p in value.split(",") if p.strip())


def managerUserPermissions(config: Config, username: str) -> ManagerUser:
    """The read and write classes, permit and deny of an AMI user.

    ``config`` is a parsed ``manager.conf``.  As in Asterisk, every
    non-template section other than ``[general]`` is a user, names compare
    ignoring case, and the last ``read``/``write`` line of the section wins
    (a template's value can be overridden).  A missing user gives
    ``exists=False`` and no permissions.
    """
    if username.lower() == "general":
        return ManagerUser(name=username, exists=False)
    section = config.get(username)
    if section is None:
        return ManagerUser(name=username, exists=False)
    return ManagerUser(
        name=username,
        exists=True,
        read=_permissionClasses(section.get("read")),
        write=_permissionClasses(section.get("write")),
        permit=tuple(section.getAll("permit")),
        deny=tuple(section.getAll("deny")),
        acl=tuple(section.getAll("acl")),
        file=section.file,
        line=section.line,
        rules=tuple((entry.key.lower(), entry.value) for entry in section
                    if entry.key.lower() in ("permit", "deny")),
        secret=section.get("secret"),
    )


@dataclass(frozen=True)
class ManagerGeneral:
    """Where and whether Asterisk serves the AMI: ``manager.conf``'s ``[general]``.

    Missing keys have Asterisk's defaults (``enabled = no``, ``port =
    5038``, ``bindaddr = 0.0.0.0``, ``tlsenable = no``, ``tlsbindaddr =
    0.0.0.0:5039``).

    :ivar exists: whether the file has a ``[general]`` section.
    :ivar enabled: whether the AMI is on at all.
    :ivar port: the plain TCP port.
    :ivar bindaddr: the address it listens on (``0.0.0.0``: every one).
    :ivar tlsEnabled: whether the TLS listener is on.
    :ivar tlsAddress: the TLS listener's address.
    :ivar tlsPort: the TLS listener's port.
    :ivar file: where the section starts, if it exists; :ivar line: its line.
    """

    exists: bool
    enabled: bool = False
    port: int = 5038
    bindaddr: str = "0.0.0.0"
    tlsEnabled: bool = False
    tlsAddress: str = "0.0.0.0"
    tlsPort: int = 5039
    file: Optional[str] = None
    line: Optional[int] = None

    def listener(self, tls: bool) -> Tuple[str, int]:
        """``(address, port)`` of the plain or the TLS listener."""
        return (self.tlsAddress, self.tlsPort) if tls else (self.bindaddr, self.port)


_TRUE = frozenset(("yes", "true", "y", "t", "1", "on"))


def managerGeneral(config: Config) -> ManagerGeneral:
    """The ``[general]`` settings of a parsed ``manager.conf``.

    :raises ConfigError: when ``port`` or the port of ``tlsbindaddr`` is not
        a number, naming the file and line.
    """
    section = config.get("general")
    if section is None:
        return ManagerGeneral(exists=False)

    def number(key: str, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            entry = section.getEntry(key) if section is not None else None
            raise ConfigError("[general] %s: %r is not a port number" % (key, text),
                              file=entry.file if entry else None,
                              line=entry.line if entry else None) from None

    tlsAddress, _, tlsPort = (section.get("tlsbindaddr") or "0.0.0.0:5039").rpartition(":")
    if not tlsAddress:
        tlsAddress, tlsPort = tlsPort, "5039"
    return ManagerGeneral(
        exists=True,
        enabled=(section.get("enabled") or "no").strip().lower() in _TRUE,
        port=number("port", section.get("port") or "5038"),
        bindaddr=(section.get("bindaddr") or "0.0.0.0").strip(),
        tlsEnabled=(section.get("tlsenable") or "no").strip().lower() in _TRUE,
        tlsAddress=tlsAddress.strip("[] "),
        tlsPort=number("tlsbindaddr", tlsPort),
        file=section.file,
        line=section.line,
    )
