"""``starpy check-config``: validate ``starpy.conf``, reporting every problem at once.

With ``--manager-conf PATH`` it also reads Asterisk's ``manager.conf`` and
shows what the AMI user (``--user``, or ``[AMI] username``) may read and
write, and whether that is enough for ``starpy events``, ``action`` and
``originate``; and it reports, as problems, what would keep StarPy from
logging in: the AMI switched off (``enabled``, or no ``[general]``), a
listener on another port or address (or no TLS listener for ``tls =
yes``), another secret, and ``permit``/``deny`` rules that refuse the
address StarPy connects from.
"""
from __future__ import annotations

import argparse
import ipaddress
import socket
from typing import Any, List, Optional, Sequence, TextIO

import starpy.cli._status as _status
from starpy.appconfig import ConfigProblem, configFiles, loadConfiguration
from starpy.config import (
    ManagerGeneral,
    ManagerUser,
    managerGeneral,
    managerUserPermissions,
    readConfig,
)
from starpy.error import ConfigError

__all__ = ["runCheckConfig"]

#: What the AMI commands of ``starpy`` need: (command, read or write, class).
NEEDS = (
    ("events", "read", "call"),
    ("originate", "write", "originate"),
    ("action Command", "write", "command"),
)


def runCheckConfig(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Check the configuration; ``EXIT_OK`` if good, ``EXIT_BAD_CONFIG`` if not."""
    from starpy.cli.ami import escapingStream

    out, err = escapingStream(out), escapingStream(err)  # file names and values may hold any byte
    config = loadConfiguration(args.config)
    problems: List[ConfigProblem] = list(config.problems)
    if config.files:
        print("read: %s" % ", ".join(config.files), file=out)
    elif not problems:
        searched, _ = configFiles(args.config)
        print("no configuration file found (looked for %s): every key has its default"
              % ", ".join(searched), file=out)
    ami: Any = config.section("AMI")
    agi: Any = config.section("FastAGI")
    print("[AMI] %s at %s%s:%d, md5 %s, timeout %g s" % (
        ami["username"] or "(no username)", "tls:" if ami["tls"] else "", ami["server"],
        ami["port"], "yes" if ami["md5"] else "no", ami["timeout"]), file=out)
    clients = agi["allowedClients"]
    print("[FastAGI] listen on %s:%d, context %s, clients %s" % (
        agi["interface"] or "*", agi["port"], agi["context"],
        ", ".join(clients) if clients else "any"), file=out)
    if not config.problems:
        problems += _tlsProblems(ami, out)
    if args.manager_conf:
        problems += _checkManager(args, ami, out)
    for problem in problems:
        print("problem: %s" % problem.describe(), file=out)
    if problems:
        print("%d problem%s found" % (len(problems), "" if len(problems) == 1 else "s"),
              file=err)
        return _status.EXIT_BAD_CONFIG
    print("configuration OK", file=out)
    return _status.EXIT_OK


def _tlsProblems(ami: Any, out: TextIO) -> List[ConfigProblem]:
    """TLS support and the TLS files, loaded as the connection would load them."""
    from starpy.utilapplication import AMISpecifier

    specifier = AMISpecifier(**ami)
    found = specifier.tlsProblems()
    if specifier.tls and not found:
        print("[AMI] TLS support present; TLS files load", file=out)
    return found


def _checkManager(args: argparse.Namespace, ami: Any, out: TextIO) -> List[ConfigProblem]:
    path = args.manager_conf
    username = args.user or str(ami["username"] or "")
    if not username:
        return [ConfigProblem(None, None, None,
                              "no AMI user to look up: give --user or set [AMI] username")]
    try:
        managerConf = readConfig(path, strict=False)
        general = managerGeneral(managerConf)
    except (OSError, ConfigError) as e:
        return [ConfigProblem(path, None, None, "cannot read manager.conf: %s" % (e,))]
    problems = _checkListener(path, general, ami)
    user = managerUserPermissions(managerConf, username)
    if not user.exists:
        return problems + [ConfigProblem(path, username, None, "no such AMI user in manager.conf")]
    print("manager.conf user [%s] (%s:%s)" % (user.name, user.file, user.line), file=out)
    print("  read:   %s" % (", ".join(user.read) or "(nothing)"), file=out)
    print("  write:  %s" % (", ".join(user.write) or "(nothing)"), file=out)
    if user.permit or user.deny or user.acl:
        print("  permit: %s; deny: %s; acl: %s" % (
            ", ".join(user.permit) or "-", ", ".join(user.deny) or "-",
            ", ".join(user.acl) or "-"), file=out)
    for command, direction, permission in NEEDS:
        allowed = user.canRead(permission) if direction == "read" else user.canWrite(permission)
        print("  starpy %-16s %s (needs %s class %s)" % (
            command, "ok" if allowed else "NOT ALLOWED", direction, permission), file=out)
    if args.user is None or args.user == ami["username"]:
        problems += _checkSecret(path, user, str(ami["secret"] or ""))
    problems += _checkAddress(path, user, ami, out)
    return problems


def _checkListener(path: str, general: ManagerGeneral, ami: Any) -> List[ConfigProblem]:
    if not general.exists:
        return [ConfigProblem(path, "general", None, "no [general] section: the AMI is off "
                              "(Asterisk's default is enabled = no)")]
    problems = []
    where = (general.file, general.line)
    if not general.enabled:
        problems.append(ConfigProblem(where[0], "general", "enabled",
                                      "not yes: the AMI is off", where[1]))
    if ami["tls"] and not general.tlsEnabled:
        problems.append(ConfigProblem(where[0], "general", "tlsenable", "not yes, but [AMI] "
                                      "tls = yes: Asterisk has no TLS listener", where[1]))
    address, port = general.listener(bool(ami["tls"]))
    if port != ami["port"]:
        problems.append(ConfigProblem(where[0], "general", "tlsbindaddr" if ami["tls"] else "port",
                                      "Asterisk listens on port %d, [AMI] port is %d"
                                      % (port, ami["port"]), where[1]))
    if not _listensOn(address, _addresses(str(ami["server"]), int(ami["port"]))):
        problems.append(ConfigProblem(where[0], "general",
                                      "tlsbindaddr" if ami["tls"] else "bindaddr",
                                      "Asterisk listens on %s only, [AMI] server %s is not "
                                      "that address" % (address, ami["server"]), where[1]))
    return problems


def _checkSecret(path: str, user: ManagerUser, secret: str) -> List[ConfigProblem]:
    # Neither secret is ever printed: only whether they agree.
    if user.secret is None:
        return [ConfigProblem(path, user.name, "secret",
                              "not set in manager.conf: Asterisk refuses every login")]
    if user.secret != secret:
        return [ConfigProblem(path, user.name, "secret",
                              "differs from [AMI] secret: the login would be refused")]
    return []


def _checkAddress(path: str, user: ManagerUser, ami: Any, out: TextIO) -> List[ConfigProblem]:
    client = _clientAddress(str(ami["server"]), int(ami["port"]))
    if client is None:
        print("  client address: unknown (cannot resolve %s); permit/deny not checked"
              % (ami["server"],), file=out)
        return []
    allowed = user.allowsAddress(client)
    if allowed is None:
        print("  client address %s: permit/deny not checked (acl or unusual rule)" % (client,),
              file=out)
        return []
    print("  client address %s: %s by permit/deny" % (client, "allowed" if allowed else "REFUSED"),
          file=out)
    if allowed:
        return []
    return [ConfigProblem(path, user.name, "permit",
                          "refuses %s, the address StarPy connects from" % (client,))]


def _addresses(host: str, port: int) -> Sequence[str]:
    """The addresses *host* resolves to (empty if it does not resolve)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return ()
    return [str(info[4][0]) for info in found]


def _listensOn(bound: str, targets: Sequence[str]) -> bool:
    """Whether a listener bound to *bound* is reached through one of *targets*."""
    try:
        address = ipaddress.ip_address(bound)
    except ValueError:
        return True  # a host name in bindaddr: not ours to resolve the way Asterisk does
    if address.is_unspecified or not targets:
        return True
    return any(_sameAddress(address, target) for target in targets)


def _sameAddress(address: Any, target: str) -> bool:
    try:
        other = ipaddress.ip_address(target)
    except ValueError:
        return False
    if isinstance(other, ipaddress.IPv6Address) and other.ipv4_mapped is not None:
        other = other.ipv4_mapped
    return bool(other == address)


def _clientAddress(host: str, port: int) -> Optional[str]:
    """The local address the system would use to reach *host*.

    A UDP socket is "connected" (which only picks a route; nothing is sent)
    and asked for its own address.
    """
    for target in _addresses(host, port):
        family = socket.AF_INET6 if ":" in target else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((target, port or 9))
                return str(probe.getsockname()[0])
        except OSError:
            continue
    return None
