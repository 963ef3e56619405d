"""The parser behind :mod:`starpy.config` (private).

It follows the line processing of Asterisk's ``main/config.c``: comment
scanning per line, then a section header, a directive or an entry.  The
places where Asterisk only logs a warning go through :meth:`Parser._problem`
(an error when strict, a recorded warning otherwise).
"""
from __future__ import annotations

import glob
import logging
import os
import re
import subprocess
from dataclasses import replace
from typing import List, Optional, Set, Union

from starpy._configmodel import Config, ConfigWarning, Entry, ExecRunner, Include, Section
from starpy.error import ConfigError

log = logging.getLogger("starpy.config")

#: Asterisk trims every character below ``!`` (ast_strip).
_BLANKS = "".join(chr(i) for i in range(33))
#: Asterisk's maximum ``#include`` nesting (MAX_INCLUDE_LEVEL).
MAX_INCLUDE_DEPTH = 10
#: Asterisk's maximum ``;--`` nesting (MAX_NESTED_COMMENTS).
MAX_NESTED_COMMENTS = 128
#: Asterisk reads lines into an 8192-byte buffer: it skips a line of this
#: many bytes or more (the newline not counted).
MAX_LINE_BYTES = 8190
_GLOB_MAGIC = re.compile(r"[*?\[]")


def _strip(text: str) -> str:
    return text.strip(_BLANKS)


def decode(data: Union[str, bytes]) -> str:
    """UTF-8, undecodable bytes kept as lone surrogates (surrogateescape)."""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", "surrogateescape")


def _shortRepr(text: str, limit: int = 60) -> str:
    """``repr(text)``, cut in the middle past *limit* characters."""
    if len(text) <= limit:
        return repr(text)
    return "%r...%r (%d characters)" % (text[: limit // 2], text[-limit // 2 :], len(text))


def _byteLength(text: str) -> int:
    try:
        return len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8", "surrogatepass"))


#: A bound on ``{a,b}`` expansion, which grows exponentially.
MAX_BRACE_EXPANSIONS = 1024
#: A bound on how deeply ``{...}`` groups may nest in one pattern.
MAX_BRACE_DEPTH = 32

#: A parsed pattern: literal text and groups; a group is a list of
#: alternatives, each itself a parsed pattern.
_Pattern = List[Union[str, "_Group"]]
_Group = List[_Pattern]


def _matchedBraces(pattern: str) -> Set[int]:
    """The positions of the ``{`` that have a matching ``}``."""
    open_: List[int] = []
    matched: Set[int] = set()
    for index, char in enumerate(pattern):
        if char == "{":
            open_.append(index)
        elif char == "}" and open_:
            matched.add(open_.pop())
    return matched


def _parseBraces(pattern: str) -> _Pattern:
    """Split *pattern* into literal text and ``{a,b}`` groups, in one pass.

    A ``{`` without a matching ``}`` is literal, and so are the ``,`` and
    ``}`` outside every group.  Every brace inside a matched group is itself
    matched, so a ``}`` met inside a group always closes the innermost one.

    :raises ValueError: for groups nested deeper than :data:`MAX_BRACE_DEPTH`.
    """
    matched = _matchedBraces(pattern)
    top: _Pattern = []
    groups: List[_Group] = []  # the open groups, innermost last
    current = top  # the alternative being read
    text: List[str] = []

    def flush() -> None:
        if text:
            current.append("".join(text))
            text.clear()

    for index, char in enumerate(pattern):
        if char == "{" and index in matched:
            if len(groups) >= MAX_BRACE_DEPTH:
                raise ValueError("braces nested deeper than %d levels" % MAX_BRACE_DEPTH)
            flush()
            group: _Group = [[]]
            current.append(group)
            groups.append(group)
            current = group[0]
        elif char == "," and groups:
            flush()
            groups[-1].append([])
            current = groups[-1][-1]
        elif char == "}" and groups:
            flush()
            groups.pop()
            current = groups[-1][-1] if groups else top
        else:
            text.append(char)
    flush()
    return top


def _expand(parsed: _Pattern) -> List[str]:
    """Every string *parsed* stands for, first group varying slowest."""
    results = [""]
    for item in parsed:
        if isinstance(item, str):
            results = [result + item for result in results]
            continue
        options: List[str] = []
        for alternative in item:  # recursion as deep as the groups nest: bounded
            options.extend(_expand(alternative))
            if len(options) > MAX_BRACE_EXPANSIONS:
                raise ValueError("too many brace alternatives")
        if len(results) * len(options) > MAX_BRACE_EXPANSIONS:
            raise ValueError("too many brace alternatives")
        results = [result + option for result in results for option in options]
    return results


def expandBraces(pattern: str) -> List[str]:
    """Expand ``{a,b}`` alternatives as glob(3) with GLOB_BRACE does.

    Groups nest (``x{a{1,2},b}``); a ``{`` without a matching ``}`` is
    literal.  The work is linear in the length of *pattern* and the size of
    the result.

    :raises ValueError: past :data:`MAX_BRACE_EXPANSIONS` patterns, or for
        groups nested deeper than :data:`MAX_BRACE_DEPTH`.
    """
    if pattern.count(",") >= MAX_BRACE_EXPANSIONS:
        raise ValueError("too many brace alternatives")
    return _expand(_parseBraces(pattern))


def _defaultRunner(command: str) -> bytes:
    done = subprocess.run(
        command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
    )
    return done.stdout


#: The criteria of an inheritance lookup: templates and sections alike.
_ANY_SECTION = "TEMPLATES=include"


def _sectionMatches(section: Section, name: str, criteria: str) -> bool:
    """Asterisk's does_category_match: a name and an optional filter."""
    if name and section.name.lower() != name.lower():
        return False
    if not criteria:
        return not section.isTemplate
    if criteria == _ANY_SECTION:  # what every inheritance asks
        return True
    expressions = found = 0
    templateOk = False
    for expression in re.split("[,&]", criteria):
        expressions += 1
        parts = expression.split("=")
        if len(parts) < 2:
            break
        key, value = _strip(parts[0]), _strip(parts[1])
        if key == "TEMPLATES":
            if value.lower() == "include":
                templateOk = templateOk or section.isTemplate
                found += 1
            elif value.lower() == "restrict":
                if not section.isTemplate:
                    break
                templateOk = True
                found += 1
            continue
        try:
            keyPattern, valuePattern = re.compile(key), re.compile(value)
        except re.error:
            return False
        if any(keyPattern.search(e.key) and valuePattern.search(e.value) for e in section.entries):
            found += 1
    return found == expressions and (not section.isTemplate or templateOk)


class Parser:
    """One parse: the configuration being built and Asterisk's 'current' section."""

    def __init__(self, strict: bool, allowExec: bool, execRunner: Optional[ExecRunner]) -> None:
        self.strict = strict
        self.allowExec = allowExec
        self.execRunner = execRunner or _defaultRunner
        self.config = Config()
        self.current: Optional[Section] = None
        self.stack: List[str] = []

    def parseMain(self, text: Union[str, bytes], filename: str) -> Config:
        self.config.files.append(filename)
        self.stack.append(os.path.realpath(filename))
        self.parseText(decode(text), filename, 0)
        return self.config

    def _problem(self, message: str, file: str, line: Optional[int]) -> None:
        if self.strict:
            raise ConfigError(message, file, line)
        log.warning("%s:%s: %s", file, line, message)
        self.config.warnings.append(ConfigWarning(message, file, line))

    # -- lines and comments ------------------------------------------------

    def parseText(self, text: str, filename: str, depth: int) -> None:
        """Parse one file's text; the section in force continues into it."""
        section = self.current
        nest: List[int] = []
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        for lineno, raw in enumerate(lines, 1):
            raw = raw.split("\x00", 1)[0]
            if len(raw) * 4 >= MAX_LINE_BYTES and _byteLength(raw) >= MAX_LINE_BYTES:
                self._problem(
                    "line too long: Asterisk skips lines of %d bytes or more" % MAX_LINE_BYTES,
                    filename,
                    lineno,
                )
                continue
            content = self._scanComments(raw, nest, filename, lineno)
            if content is None:
                continue
            content = _strip(content)
            if content:
                section = self._processLine(content, section, filename, lineno, depth)
        if nest:
            self._problem("unterminated ';--' block comment started here", filename, nest[-1])

    def _scanComments(self, buf: str, nest: List[int], filename: str, lineno: int) -> Optional[str]:
        """The part of a line outside comments, or None if it is all comment.

        ``nest`` holds the start lines of the open ``;--`` comments and is
        updated.  A NUL character ends a C string, so it marks the end of
        the text kept before an open block comment, as in config.c.
        """
        start: Optional[int] = None if nest else 0
        pos = 0
        while True:
            i = buf.find(";", pos)
            if i < 0:
                break
            if i > pos and buf[i - 1] == "\\":
                buf = buf[: i - 1] + buf[i:]
                pos = i
            elif buf[i + 1 : i + 3] == "--" and buf[i + 3 : i + 4] != "-":
                if len(nest) >= MAX_NESTED_COMMENTS:
                    raise ConfigError(
                        "more than %d nested ';--' comments" % MAX_NESTED_COMMENTS, filename, lineno
                    )
                buf = buf[:i] + "\x00" + buf[i + 1 :]
                pos = i + 3
                nest.append(lineno)
            elif nest and i >= pos + 2 and buf[i - 2 : i] == "--":
                nest.pop()
                pos = i + 1
                if not nest:
                    if start is None:
                        start = pos
                    else:
                        end = buf.find("\x00", start)
                        end = len(buf) if end < 0 else end
                        buf = buf[:end] + buf[pos:]
                        pos = end
            elif nest:
                pos = i + 1
            else:
                if i >= pos + 2 and buf[i - 2 : i] == "--":
                    self._problem(
                        "'--;' without an open ';--' comment (Asterisk would "
                        "ignore the rest of the file)",
                        filename,
                        lineno,
                    )
                buf = buf[:i]
                break
        if start is None:
            return None
        return buf[start:].split("\x00", 1)[0]

    def _processLine(
        self, line: str, section: Optional[Section], filename: str, lineno: int, depth: int
    ) -> Optional[Section]:
        if line[0] == "[":
            return self._header(line, filename, lineno)
        if line[0] == "#":
            self._directive(line, filename, lineno, depth)
            return section
        if section is None:
            hint = ""
            if line.startswith("\ufeff"):
                hint = " (the file starts with a byte order mark, which Asterisk does not skip)"
            raise ConfigError("entry outside any section" + hint, filename, lineno)
        self._entry(line, section, filename, lineno)
        return section

    # -- sections ----------------------------------------------------------

    def _find(self, name: str, criteria: str) -> Optional[Section]:
        """The first section called *name* (any name if empty) passing *criteria*.

        Only the sections of that name are looked at (an index kept by
        :class:`Config`), so a file of many sections parses in linear time.
        """
        candidates = self.config.sections(name or None, includeTemplates=True)
        for candidate in candidates:
            if _sectionMatches(candidate, name, criteria):
                return candidate
        return None

    def _header(self, line: str, filename: str, lineno: int) -> Section:
        close = line.find("]")
        if close < 0:
            raise ConfigError("section header without closing ']'", filename, lineno)
        name = line[1:close]
        options: List[str] = []
        rest = line[close + 1 :]
        if rest.startswith("("):
            end = rest.find(")")
            if end < 0:
                raise ConfigError("section options without closing ')'", filename, lineno)
            options = rest[1:end].split(",")
        target = Section(name, filename, lineno)
        created: Optional[Section] = target
        for option in options:
            if option == "!":
                target.isTemplate = True
            elif option.startswith("+"):
                existing = self._find(name, option[1:])
                if existing is None:
                    raise ConfigError(
                        "addition [%s](%s) to a section that does not exist" % (name, option),
                        filename,
                        lineno,
                    )
                if created is not None:
                    self.current = existing
                    existing.isTemplate = existing.isTemplate or created.isTemplate
                    existing.entries.extend(created.entries)
                    existing.templates.extend(created.templates)
                    created = None
                existing.additions.append((filename, lineno))
                target = existing
            else:
                base = self._find(option, _ANY_SECTION) if option else None
                if base is None:
                    raise ConfigError(
                        "[%s] inherits from unknown section or template %r" % (name, option),
                        filename,
                        lineno,
                    )
                target.templates.append(base.name)
                target.entries.extend(
                    Entry(e.key, e.value, e.operator, e.file, e.line, base.name)
                    for e in base.entries
                )
        if created is not None:
            self.config.addSection(created)
            self.current = created
        return target

    # -- entries -----------------------------------------------------------

    def _entry(self, line: str, section: Section, filename: str, lineno: int) -> None:
        escaped = 1 if line[0] == "\\" else 0
        if escaped:
            line = line[1:]
            if not line or ord(line[0]) < 33:
                raise ConfigError("invalid escape: '\\' before a blank", filename, lineno)
        equal = line.find("=", escaped)
        if equal < 0:
            self._problem("no '=' in line (Asterisk ignores it)", filename, lineno)
            return
        operator = "="
        if equal > escaped and line[equal - 1] == "+":
            key = _strip(line[: equal - 1])
            added = line[equal + 1 :]
            for index in range(len(section.entries) - 1, -1, -1):
                old = section.entries[index]
                if old.key == key:
                    section.entries[index] = replace(old, value=_strip(old.value + added))
                    return
            value = _strip(added)
        else:
            value = line[equal + 1 :]
            if value.startswith(">"):
                operator, value = "=>", value[1:]
            key, value = _strip(line[:equal]), _strip(value)
        if not key:
            self._problem("no name before '=' (Asterisk ignores the line)", filename, lineno)
            return
        section.entries.append(Entry(key, value, operator, filename, lineno))

    # -- directives --------------------------------------------------------

    def _directive(self, line: str, filename: str, lineno: int, depth: int) -> None:
        word = line[1:]
        argument = ""
        for index, char in enumerate(word):
            if ord(char) <= 32:
                word, argument = word[:index], _strip(word[index + 1 :])
                break
        kind = word.lower()
        if kind not in ("include", "tryinclude", "exec"):
            self._problem("unknown directive '#%s' (Asterisk ignores it)" % word, filename, lineno)
            return
        if kind == "exec" and not self.allowExec:
            self._problem("#exec refused (pass allowExec=True to run it)", filename, lineno)
            return
        if not argument:
            self._problem("directive '#%s' needs an argument" % word, filename, lineno)
            return
        if argument[0] in '"<':
            closing = '"' if argument[0] == '"' else ">"
            if argument[-1] == closing:
                argument = argument[1:-1]
        if depth + 1 > MAX_INCLUDE_DEPTH:
            raise ConfigError(
                "includes nested deeper than %d levels" % MAX_INCLUDE_DEPTH, filename, lineno
            )
        record = Include(kind, argument, filename, lineno)
        self.config.includes.append(record)
        if kind == "exec":
            output = decode(self.execRunner(argument))
            pseudo = "#exec %s" % (argument,)
            record.files.append(pseudo)
            self.config.files.append(pseudo)
            self.parseText(output, pseudo, depth + 1)
            return
        try:
            paths = self._resolve(argument, filename)
        except ValueError as e:
            raise ConfigError("#%s %s: %s" % (kind, _shortRepr(argument), e),
                              filename, lineno) from None
        for path in paths:
            self._includeFile(path, record, filename, lineno, depth)
        if not record.files and kind == "include":
            raise ConfigError("#include %r: no such file" % (argument,), filename, lineno)

    def _resolve(self, argument: str, filename: str) -> List[str]:
        base = os.path.dirname(filename)
        found: List[str] = []
        for pattern in expandBraces(argument):
            path = os.path.normpath(os.path.join(base, pattern)) if pattern else ""
            if _GLOB_MAGIC.search(path):
                found.extend(sorted(glob.glob(path)))
            elif path:
                found.append(path)
        return [path for path in found if os.path.isfile(path)]

    def _includeFile(self, path: str, record: Include, filename: str, lineno: int, depth: int) -> None:
        real = os.path.realpath(path)
        if real in self.stack:
            chain = " -> ".join(self.stack[self.stack.index(real) :] + [real])
            raise ConfigError("include loop: %s" % (chain,), filename, lineno)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return  # Asterisk treats an unreadable file as a missing one
        record.files.append(path)
        self.config.files.append(path)
        self.stack.append(real)
        try:
            self.parseText(decode(data), path, depth + 1)
        finally:
            self.stack.pop()
