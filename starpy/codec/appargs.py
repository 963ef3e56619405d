"""Values escaped for Asterisk's application-argument parser.

Asterisk reads some AMI header values (``Variable`` of ``Originate`` and
others, MixMonitor's ``File``, an application's ``Data``) with the parser
the dialplan uses for application arguments: a comma separates, double
quotes group, a backslash escapes, ``(`` and ``[`` nest.  The functions here
make a value reach Asterisk exactly through that parser, or refuse it with
:class:`LocalProtocolError <starpy.error.LocalProtocolError>` before anything
is sent.  ``starpy.testing.appargs`` models the parser itself, for the
tests.  ``starpy.amiactions`` re-exports :func:`appArgument`,
:func:`appArguments` and :func:`variableAssignment`, where they were first
defined.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, List, Mapping, Union

from starpy.error import LocalProtocolError

__all__ = [
    "appArgument",
    "appArguments",
    "escapeLeadingBlank",
    "rawAppArgument",
    "refuseLeadingBlank",
    "refuseUncarriable",
    "variableAssignment",
    "variableAssignments",
]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# Asterisk splits application arguments (and Variable headers) at commas,
# except inside double quotes or inside () or [] (which nest, quoted or not);
# it drops every double quote and every backslash, a backslash keeping the
# character after it literally.  A backslash before each character that the
# parser would act on keeps a value whole: with every '(' and '[' escaped the
# nesting counters never leave zero, so ')' and ']' need nothing.
_APP_SPECIAL = re.compile(r'[\\",(\[]')
# Characters no escaping can carry: a NUL ends the C string, CR and LF end
# the AMI line.
_UNCARRIABLE = re.compile(r"[\x00\r\n]")
_BLANK_LIMIT = 33  # ast_skip_blanks() drops leading characters below this


def refuseUncarriable(text: str, what: str) -> None:
    found = _UNCARRIABLE.search(text)
    if found is not None:
        raise LocalProtocolError("%s holds %r, which no AMI header can carry" % (what, found.group()))


def escapeLeadingBlank(escaped: str) -> str:
    # Asterisk skips blanks (any character below '!') at the start of a
    # header value; a backslash before the first one keeps it.
    if escaped and ord(escaped[0]) < _BLANK_LIMIT:
        return "\\" + escaped
    return escaped


def appArgument(value: Any, what: str = "application argument") -> str:
    """*value* (as text) escaped to reach an application as one argument, unchanged.

    Every backslash, double quote, comma, ``(`` and ``[`` gets a backslash
    before it, which Asterisk's argument parser removes again.

    :param what: how the value is named in the error.
    :raises starpy.error.LocalProtocolError: if *value* holds NUL, CR or LF (no AMI header can
        carry them).
    """
    text = _text(value)
    refuseUncarriable(text, "%s %r" % (what, text))
    return _APP_SPECIAL.sub(r"\\\g<0>", text)


def appArguments(arguments: Iterable[Any], what: str = "application argument") -> str:
    """*arguments* as one application argument string: escaped, comma-separated.

    ``appArguments(['a,b', 'say "hi"'])`` is ``'a\\,b,say \\"hi\\"'``,
    which an application that splits its arguments the standard way (AGI,
    Playback, Dial...) reads as exactly ``a,b`` and ``say "hi"``.  Use it
    for ``originate(application=..., data=...)``; applications that take
    their data as one raw string (``Set``, ``NoOp``, ``System``) must get
    the text itself instead.  A leading blank is escaped too (Asterisk
    skips blanks at the start of a header value).  No arguments and one
    empty argument are the same text: Asterisk reads it as no argument.

    :raises starpy.error.LocalProtocolError: as :func:`appArgument`.
    """
    return escapeLeadingBlank(",".join(appArgument(argument, what) for argument in arguments))


def variableAssignments(variable: Union[Mapping[str, Any], Iterable[str]]) -> List[str]:
    """Escaped ``Variable`` header values for a mapping or ``'NAME=value'`` strings."""
    if isinstance(variable, Mapping):
        return [variableAssignment(name, value) for name, value in variable.items()]
    assignments = []
    for item in variable:
        name, equals, value = _text(item).partition("=")
        if not equals:
            raise LocalProtocolError("originate variable %r is not NAME=value" % (item,))
        assignments.append(variableAssignment(name, value))
    return assignments


def rawAppArgument(value: Any, what: str) -> str:
    # A value that Asterisk also reads raw elsewhere (MixMonitor's Options,
    # whose i(VAR) the manager reads itself) cannot be escaped: refuse what
    # the argument parser would change or split instead.
    text = _text(value)
    refuseUncarriable(text, "%s %r" % (what, text))
    refuseLeadingBlank(text, what)
    depth = {"(": 0, "[": 0}
    closing = {")": "(", "]": "["}
    for character in text:
        if character in '"\\':
            raise LocalProtocolError("%s %r holds %r, which Asterisk's argument parser would remove"
                                     % (what, text, character))
        if character in depth:
            depth[character] += 1
        elif character in closing and depth[closing[character]]:
            depth[closing[character]] -= 1
        elif character == "," and not any(depth.values()):
            raise LocalProtocolError("%s %r holds a comma outside brackets, which would split it"
                                     % (what, text))
    if any(depth.values()):
        raise LocalProtocolError("%s %r leaves a bracket open, which would swallow the next argument"
                                 % (what, text))
    return text


def refuseLeadingBlank(text: str, what: str) -> None:
    if text and ord(text[0]) < _BLANK_LIMIT:
        raise LocalProtocolError("%s %r starts with a blank, which Asterisk drops" % (what, text))



def variableAssignment(name: Any, value: Any, what: str = "variable") -> str:
    """``NAME=value`` escaped for a ``Variable`` header (Originate and others).

    Asterisk splits a ``Variable`` header value like application arguments
    (so ``V=a,X=1`` would set ``V`` to ``a`` *and* set ``X``), then cuts
    each piece at its first ``=``.  Both *name* and *value* are escaped as
    :func:`appArgument` does, so the header sets exactly one variable,
    *name*, to exactly *value*.  A name may be a dialplan function
    (``PJSIP_HEADER(add,X-Tag)``): it reaches Asterisk unchanged too.

    :raises starpy.error.LocalProtocolError: naming the variable, if *name* is empty or holds
        ``=`` (Asterisk would cut the name there), or if the name or the
        value holds NUL, CR or LF.
    """
    name = _text(name)
    value = _text(value)
    if not name:
        raise LocalProtocolError("%s name is empty (value %r)" % (what, value))
    if "=" in name:
        raise LocalProtocolError("%s name %r holds '=': Asterisk ends the name at the first '='"
                                 % (what, name))
    refuseUncarriable(name, "%s name %r" % (what, name))
    refuseUncarriable(value, "the value of %s %r" % (what, name))
    return "%s=%s" % (escapeLeadingBlank(appArgument(name)), appArgument(value))

