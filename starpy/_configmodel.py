"""The model of a parsed Asterisk configuration file: sections and entries.

Built by :class:`starpy._configparser.Parser`; public as :mod:`starpy.config`
(which re-exports every name here).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

__all__ = ["Config", "ConfigWarning", "Entry", "ExecRunner", "Include", "Section"]

#: Runs an ``#exec`` command and returns its output (stdout and stderr).
ExecRunner = Callable[[str], bytes]


@dataclass(frozen=True)
class Entry:
    """One ``key = value`` (or ``key => value``) line.

    :ivar key: the name as written (lookups ignore case, as Asterisk's do).
    :ivar value: the value, blanks trimmed.
    :ivar operator: ``"="`` or ``"=>"`` (Asterisk calls ``=>`` an object).
    :ivar file: the file the line was read from.
    :ivar line: its line number (1-based).
    :ivar inheritedFrom: for an entry copied from a template or other
        section, the name of that section; ``None`` otherwise.
    """

    key: str
    value: str
    operator: str
    file: str
    line: int
    inheritedFrom: Optional[str] = None

    @property
    def isObject(self) -> bool:
        """True when written with ``=>`` (as ``exten =>`` lines are)."""
        return self.operator == "=>"


@dataclass(frozen=True)
class ConfigWarning:
    """A problem Asterisk only warns about, recorded when ``strict=False``."""

    message: str
    file: str
    line: Optional[int]

    def __str__(self) -> str:
        return "%s:%s: %s" % (self.file, self.line, self.message)


@dataclass
class Include:
    """One ``#include``, ``#tryinclude`` or ``#exec`` directive.

    :ivar kind: ``"include"``, ``"tryinclude"`` or ``"exec"``.
    :ivar argument: the path, glob or command as written (unquoted).
    :ivar file: the file holding the directive; :ivar line: its line.
    :ivar files: the files that were read for it (for ``#exec``, the
        pseudo file name its output was parsed under).
    """

    kind: str
    argument: str
    file: str
    line: int
    files: List[str] = field(default_factory=list)


class Section:
    """A section (Asterisk says *category*): a name and ordered entries.

    :ivar name: the name between the brackets, as written.
    :ivar isTemplate: true for ``[name](!)``.
    :ivar file: where the section was started; :ivar line: the header line.
    :ivar templates: the sections inherited from, in order.
    :ivar additions: ``(file, line)`` of each ``[name](+)`` header that
        added to this section.
    :ivar entries: every :class:`Entry`, inherited ones first.
    """

    def __init__(self, name: str, file: str, line: int, isTemplate: bool = False) -> None:
        self.name = name
        self.file = file
        self.line = line
        self.isTemplate = isTemplate
        self.templates: List[str] = []
        self.additions: List[Tuple[str, int]] = []
        self.entries: List[Entry] = []

    def __repr__(self) -> str:
        return "<Section %r%s %s:%d, %d entries>" % (
            self.name,
            " (template)" if self.isTemplate else "",
            self.file,
            self.line,
            len(self.entries),
        )

    def getEntries(self, key: Optional[str] = None) -> List[Entry]:
        """All entries, or those named ``key`` (ignoring case), in order."""
        if key is None:
            return list(self.entries)
        folded = key.lower()
        return [e for e in self.entries if e.key.lower() == folded]

    def getEntry(self, key: str) -> Optional[Entry]:
        """The last entry named ``key`` (ignoring case), or ``None``."""
        found = self.getEntries(key)
        return found[-1] if found else None

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        """The value of ``key`` (ignoring case), or ``default``.

        When the key is repeated this is the *last* value: Asterisk modules
        apply a section's entries in order, so a later line (for instance
        one overriding a template) wins.  Use :meth:`getAll` for every value.
        """
        entry = self.getEntry(key)
        return default if entry is None else entry.value

    def getAll(self, key: str) -> List[str]:
        """Every value of ``key`` (ignoring case), in file order."""
        return [e.value for e in self.getEntries(key)]

    def keys(self) -> List[str]:
        """The distinct keys, in order of first appearance."""
        seen: List[str] = []
        folded = set()
        for e in self.entries:
            if e.key.lower() not in folded:
                folded.add(e.key.lower())
                seen.append(e.key)
        return seen

    def items(self) -> List[Tuple[str, str]]:
        """``(key, value)`` for every entry, repeated keys included."""
        return [(e.key, e.value) for e in self.entries]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.getEntry(key) is not None

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self.entries))

    def __len__(self) -> int:
        return len(self.entries)


class Config:
    """A parsed configuration: sections in file order.

    :ivar files: every file read, in order (the main file first).
    :ivar includes: every :class:`Include` directive met.
    :ivar warnings: the :class:`ConfigWarning` list (``strict=False`` only).
    """

    def __init__(self) -> None:
        self._sections: List[Section] = []
        #: the sections by lower-cased name, each list in file order
        self._byName: Dict[str, List[Section]] = {}
        self.files: List[str] = []
        self.includes: List[Include] = []
        self.warnings: List[ConfigWarning] = []

    def __repr__(self) -> str:
        return "<Config %d sections from %r>" % (len(self._sections), self.files[:1])

    def sections(self, name: Optional[str] = None, includeTemplates: bool = False) -> List[Section]:
        """The sections in order, optionally only those called ``name``.

        Names compare ignoring case, as in Asterisk.  Templates are left out
        unless ``includeTemplates`` is true.
        """
        candidates = self._sections if name is None else self._named(name)
        return [s for s in candidates if includeTemplates or not s.isTemplate]

    def templates(self) -> List[Section]:
        """The template sections (``[name](!)``) in order."""
        return [s for s in self._sections if s.isTemplate]

    def names(self, includeTemplates: bool = False) -> List[str]:
        """The section names in order (a repeated name appears repeatedly)."""
        return [s.name for s in self.sections(includeTemplates=includeTemplates)]

    def get(self, name: str) -> Optional[Section]:
        """The first non-template section called ``name``, or ``None``."""
        for section in self._named(name):
            if not section.isTemplate:
                return section
        return None

    def __getitem__(self, name: str) -> Section:
        section = self.get(name)
        if section is None:
            raise KeyError(name)
        return section

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Section]:
        return iter(self.sections())

    def __len__(self) -> int:
        return len(self.sections())

    def addSection(self, section: Section) -> None:
        """Append *section* (the parser builds a configuration this way)."""
        self._sections.append(section)
        self._byName.setdefault(section.name.lower(), []).append(section)

    def _named(self, name: str) -> Sequence[Section]:
        """The sections called *name* (ignoring case), templates included, in order."""
        return self._byName.get(name.lower(), ())
