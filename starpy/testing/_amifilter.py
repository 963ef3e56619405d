"""Asterisk 22's AMI event filters, as the fake AMI server applies them.

The rules modelled, read from Asterisk 22's ``main/manager.c``
(``manager_add_filter``, ``filter_cmp_fn``, ``should_send_event``,
``action_filter``):

* A filter is a *criteria* string and a *pattern*.  ``Action: Filter``
  makes the criteria ``eventfilter`` (legacy) or ``eventfilter(<its
  MatchCriteria>)``, the pattern is its ``Filter`` header (``''`` when
  absent); a ``manager.conf`` user line ``eventfilter(...) = pattern`` is the
  same pair, added to each session of that user at login.
* A pattern starting with ``!`` is an exclude filter (the ``!`` is dropped);
  ``action(include|exclude)`` in the criteria overrides that.
* Legacy (no ``(`` in the criteria): the pattern is a regular expression
  (POSIX extended, searched anywhere, ``.`` also matching a line end) over
  the whole event text: ``Event: Name\\r\\nPrivilege: ...\\r\\n...\\r\\n\\r\\n``.
  An empty pattern is a format error.
* Advanced: the criteria's options, split at blanks, commas and ``)``,
  each ``action(...)``, ``name(...)``, ``header(...)`` or ``method(...)``
  (case-sensitive words).  ``name``: the event name must equal it exactly
  (case-sensitive).  ``header``: the pattern is matched against the value
  (leading blanks skipped) of each line starting with ``Header:`` (a colon
  is added unless given; case-sensitive; empty values skipped) until one
  matches; without ``header`` against the whole event text.  ``method``:
  ``regex`` (searched), ``exact``, ``starts_with``, ``ends_with``,
  ``contains`` or ``none`` (matches anything; the default of the advanced
  form, which then needs ``name`` or ``header`` and no pattern; any other
  method needs a pattern).
* A session with no filter receives every event.  With include filters only
  an event matching one of them; with exclude filters only events matching
  none of them; with both, events matching an include filter and no exclude
  filter.
* Filters apply to events (Asterisk's event queue: ``OriginateResponse``,
  ``UserEvent``...), never to responses nor to the events a list action
  writes as its answer (``CoreShowChannel``...), nor to the ``FullyBooted``
  that ``Login`` answers with.

The regular expressions are Python's ``re`` with the POSIX bracket classes
(``[:alpha:]``...) translated: enough for the expressions filters use, not
a full POSIX engine.
"""
from __future__ import annotations

import re
from typing import Iterable, List, Optional, Pattern, Sequence, Tuple, Union

import attrs

__all__ = ["EventFilter", "FilterError", "SessionFilters", "parseFilter", "eventText"]

_METHODS = ("regex", "exact", "starts_with", "ends_with", "contains", "none")
_POSIX_CLASSES = {
    "[:alpha:]": "a-zA-Z", "[:digit:]": "0-9", "[:alnum:]": "a-zA-Z0-9",
    "[:upper:]": "A-Z", "[:lower:]": "a-z", "[:space:]": " \\t\\r\\n\\v\\f",
    "[:blank:]": " \\t", "[:punct:]": "!-/:-@\\[-`{-~", "[:xdigit:]": "0-9A-Fa-f",
    "[:cntrl:]": "\\x00-\\x1f\\x7f", "[:print:]": " -~", "[:graph:]": "!-~",
}
_OPTION_SPLIT = re.compile(r"[ ,)]+")


class FilterError(Exception):
    """A filter Asterisk refuses; :attr:`message` is its ``Response: Error`` text."""

    FORMAT = "Filter was formatted incorrectly.  Check the syntax of the filter given."
    COMPILE = "Filter did not compile.  Check the syntax of the filter given."

    def __init__(self, message: str, detail: str) -> None:
        super().__init__("%s (%s)" % (message, detail))
        self.message = message
        self.detail = detail


def _compile(pattern: str) -> Pattern[str]:
    for posix, ranges in _POSIX_CLASSES.items():
        pattern = pattern.replace(posix, ranges)
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error as e:
        raise FilterError(FilterError.COMPILE, "%r: %s" % (pattern, e)) from None


@attrs.frozen
class EventFilter:
    """One parsed filter (see the module documentation for the rules)."""

    exclude: bool
    method: str
    pattern: str
    name: Optional[str] = None
    header: Optional[str] = None
    regex: Optional[Pattern[str]] = attrs.field(default=None, eq=False, repr=False)

    def _matchValue(self, value: str) -> bool:
        method = self.method
        if method == "regex":
            assert self.regex is not None
            return self.regex.search(value) is not None
        if method == "exact":
            return value == self.pattern
        if method == "starts_with":
            return value.startswith(self.pattern)
        if method == "ends_with":
            return value.endswith(self.pattern)
        if method == "contains":
            return self.pattern in value
        return True  # none

    def matches(self, name: str, text: str) -> bool:
        """Whether the event *name* whose whole text is *text* matches."""
        if self.name is not None and name != self.name:
            return False
        if self.header is None:
            return self._matchValue(text)
        for line in text.split("\n"):
            if line.endswith("\r"):
                line = line[:-1]
            if line.startswith(self.header):
                value = line[len(self.header):].lstrip("".join(map(chr, range(1, 33))))
                if value and self._matchValue(value):
                    return True
        return False


def parseFilter(criteria: str, pattern: str) -> EventFilter:
    """The filter of *criteria* (``'eventfilter'`` or
    ``'eventfilter(name(Hangup),...)'``) and *pattern*.

    :raises FilterError: Asterisk would refuse it (its message says which
        of ``Filter was formatted incorrectly`` / ``Filter did not compile``).
    """
    exclude = pattern.startswith("!")
    if exclude:
        pattern = pattern[1:]
    start = criteria.find("(")
    if start < 0:
        if not pattern:
            raise FilterError(FilterError.FORMAT, "legacy filter with no pattern")
        return EventFilter(exclude, "regex", pattern, regex=_compile(pattern))
    options = criteria[start + 1:].strip()
    if not options or not options.endswith(")"):
        raise FilterError(FilterError.FORMAT, "options not formatted correctly")
    method = "none"
    name: Optional[str] = None
    header: Optional[str] = None
    found = set()
    for option in _OPTION_SPLIT.split(options):
        if not option:
            continue
        kind = next((k for k in ("action", "name", "header", "method") if option.startswith(k)), None)
        if kind is None:
            raise FilterError(FilterError.FORMAT, "unknown option %r" % (option,))
        _, paren, value = option.partition("(")
        value = value.strip()
        if not paren or not value:
            raise FilterError(FilterError.FORMAT, "%r not formatted correctly" % (option,))
        if kind == "action":
            if value not in ("include", "exclude"):
                raise FilterError(FilterError.FORMAT, "unknown action %r" % (value,))
            exclude = value == "exclude"
        elif kind == "name":
            name = value
        elif kind == "header":
            header = value if value.endswith(":") else value + ":"
        else:
            if value not in _METHODS:
                raise FilterError(FilterError.FORMAT, "unknown method %r" % (value,))
            method = value
        found.add(kind)
    if not found:
        raise FilterError(FilterError.FORMAT, "no action, name, header or method")
    if not pattern and method != "none":
        raise FilterError(FilterError.FORMAT, "method %s needs a pattern" % (method,))
    if pattern and method == "none":
        raise FilterError(FilterError.FORMAT, "method none with a pattern")
    if name is None and header is None and method == "none":
        raise FilterError(FilterError.FORMAT, "no name or header and no pattern")
    regex = _compile(pattern) if method == "regex" else None
    return EventFilter(exclude, method, pattern, name, header, regex)


def eventText(pairs: Sequence[Tuple[str, str]]) -> str:
    """The event as Asterisk's filters see it: its wire text."""
    return "".join("%s: %s\r\n" % pair for pair in pairs) + "\r\n"


class SessionFilters:
    """The include and exclude filters of one session, in the order added."""

    def __init__(self, filters: Iterable[EventFilter] = ()) -> None:
        self.include: List[EventFilter] = []
        self.exclude: List[EventFilter] = []
        for added in filters:
            self.add(added)

    def __len__(self) -> int:
        return len(self.include) + len(self.exclude)

    def add(self, added: EventFilter) -> None:
        (self.exclude if added.exclude else self.include).append(added)

    def allows(self, pairs: Sequence[Tuple[str, str]]) -> bool:
        """Whether an event (``(name, value)`` pairs, ``Event`` first) passes."""
        if not self.include and not self.exclude:
            return True
        name = next((v for n, v in pairs if n.lower() == "event"), "")
        text = eventText(pairs)
        if self.include and not any(f.matches(name, text) for f in self.include):
            return False
        return not any(f.matches(name, text) for f in self.exclude)


FilterSpec = Union[str, Tuple[str, str]]
"""A ``manager.conf`` filter line: a legacy pattern, or ``(criteria, pattern)``."""


def parseFilters(specs: Iterable[FilterSpec]) -> Tuple[EventFilter, ...]:
    """Parse ``manager.conf`` filter lines (see :data:`FilterSpec`).

    :raises FilterError: one of them is refused.
    """
    parsed = []
    for spec in specs:
        if isinstance(spec, EventFilter):
            parsed.append(spec)
        elif isinstance(spec, str):
            parsed.append(parseFilter("eventfilter", spec))
        else:
            criteria, pattern = spec
            parsed.append(parseFilter(criteria, pattern))
    return tuple(parsed)
