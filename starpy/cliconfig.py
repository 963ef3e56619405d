"""``starpy check-config``: validate ``starpy.conf``, reporting every problem at once.

With ``--manager-conf PATH`` it also reads Asterisk's ``manager.conf`` and
shows what the AMI user (``--user``, or ``[AMI] username``) may read and
write, and whether that is enough for ``starpy events``, ``action`` and
``originate``.
"""
from __future__ import annotations

import argparse
from typing import Any, List, TextIO

from starpy.appconfig import ConfigProblem, configFiles, loadConfiguration
from starpy.config import managerUserPermissions, readConfig
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
    from starpy import cli
    from starpy.cliami import escapingStream

    out, err = escapingStream(out), escapingStream(err)  # file names and values may hold any byte
    config = loadConfiguration(args.config)
    problems: List[ConfigProblem] = list(config.problems)
    if config.files:
        print("read: %s" % ", ".join(config.files), file=out)
    else:
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
    if args.manager_conf:
        problems += _checkManager(args, str(ami["username"] or ""), out)
    for problem in problems:
        print("problem: %s" % problem.describe(), file=out)
    if problems:
        print("%d problem%s found" % (len(problems), "" if len(problems) == 1 else "s"),
              file=err)
        return int(cli.EXIT_BAD_CONFIG)
    print("configuration OK", file=out)
    return int(cli.EXIT_OK)


def _checkManager(args: argparse.Namespace, configured: str, out: TextIO) -> List[ConfigProblem]:
    path = args.manager_conf
    username = args.user or configured
    if not username:
        return [ConfigProblem(None, None, None,
                              "no AMI user to look up: give --user or set [AMI] username")]
    try:
        managerConf = readConfig(path, strict=False)
    except (OSError, ConfigError) as e:
        return [ConfigProblem(path, None, None, "cannot read manager.conf: %s" % (e,))]
    user = managerUserPermissions(managerConf, username)
    if not user.exists:
        return [ConfigProblem(path, username, None, "no such AMI user in manager.conf")]
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
    return []
