"""The exit statuses of the ``starpy`` command (re-exported by :mod:`starpy.cli`).

The sub-command modules import them from here, so that none of them imports
the command's parser back.
"""
from __future__ import annotations

from starpy.error import CommandError

__all__ = [
    "CommandError",
    "EXIT_CODES",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_FAILURE",
    "EXIT_BAD_CONFIG",
    "EXIT_UNREACHABLE",
    "EXIT_LOGIN_FAILED",
    "EXIT_ACTION_FAILED",
]

EXIT_OK = 0
"""Success."""
EXIT_FAILURE = 1
"""An unexpected error (a bug, or a failure with no better status)."""
EXIT_USAGE = 2
"""Bad command line (argparse's status): unknown option, bad route or handler."""
EXIT_BAD_CONFIG = 3
"""Bad configuration: a problem in starpy.conf, a missing file or username, a port
that cannot be listened on."""
EXIT_UNREACHABLE = 4
"""Asterisk cannot be reached: connection refused, DNS, timeout, connection lost."""
EXIT_LOGIN_FAILED = 5
"""Asterisk refused the AMI login (wrong username or secret)."""
EXIT_ACTION_FAILED = 6
"""Asterisk answered the action with an error, or the originated call failed."""

#: Every status the command returns, and what it means.
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILURE: "unexpected error",
    EXIT_USAGE: "bad command line",
    EXIT_BAD_CONFIG: "bad configuration",
    EXIT_UNREACHABLE: "Asterisk unreachable",
    EXIT_LOGIN_FAILED: "AMI login refused",
    EXIT_ACTION_FAILED: "action or originate failed",
}
