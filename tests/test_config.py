"""Tests for starpy.config: Asterisk's .conf syntax as main/config.c reads it."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from starpy import error
from starpy.config import (
    Config,
    ConfigError,
    Entry,
    managerUserPermissions,
    parseConfig,
    readConfig,
)

FIXTURES = Path(__file__).parent / "fixtures"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def entries(config: Config, name: str) -> List[tuple[str, str, str]]:
    return [(e.key, e.operator, e.value) for e in config[name].getEntries()]


# -- the real files --------------------------------------------------------


def test_extensionsFixture() -> None:
    config = readConfig(FIXTURES / "extensions.conf")
    assert config.names() == [
        "general", "globals", "fastagi", "asyncagi", "caller-dtmf", "echo",
        "playback", "wait", "dialer", "wait5", "sub-test",
    ]
    general = config["general"]
    assert general.get("static") == "yes"
    assert general.get("autofallthrough") == "yes"
    assert (general.file, general.line) == (str(FIXTURES / "extensions.conf"), 2)
    assert len(config["globals"]) == 0

    fastagi = config["fastagi"]
    assert fastagi.getAll("exten") == [
        "100,1,Answer()",
        "200,1,Answer()",
        "_X.,1,Answer()",
        "h,1,NoOp(fastagi hangup handler ${CHANNEL} AGISTATUS=${AGISTATUS})",
    ]
    assert [e.line for e in fastagi.getEntries("exten")] == [12, 16, 21, 25]
    first = fastagi.getEntries()[:3]
    assert [(e.key, e.operator, e.line) for e in first] == [
        ("exten", "=>", 12), ("same", "=>", 13), ("same", "=>", 14),
    ]
    assert all(e.isObject for e in fastagi)
    assert first[1].value == "n,AGI(agi://127.0.0.1:4573/hello,arg1,arg with space)"
    # '#' and '*' inside a value are not special
    assert config["caller-dtmf"].get("exten") == "_[0-9*#ABCD]!,1,Answer()"
    assert config["dialer"].getAll("same")[1] == "n,Set(CALLERID(name)=Test Caller)"
    assert config["sub-test"].getAll("same") == ["n,Return(${ARG1}-done)"]
    assert config.warnings == [] and config.includes == []


def test_managerFixture() -> None:
    config = readConfig(FIXTURES / "manager.conf")
    assert config.names() == ["general", "starpy", "limited"]
    assert config["general"]["port"] == "5038"
    assert config["general"].get("bindaddr") == "127.0.0.1"
    starpy = config["starpy"]
    assert starpy.line == 13
    assert starpy.get("secret") == "starpy-secret"
    assert starpy.getEntry("read") == Entry(
        "read", "all", "=", str(FIXTURES / "manager.conf"), 17
    )
    assert config["limited"].get("write") == "call"


def test_managerUserPermissionsFromFixture() -> None:
    config = readConfig(FIXTURES / "manager.conf")
    starpy = managerUserPermissions(config, "starpy")
    assert starpy.exists
    assert (starpy.read, starpy.write) == (("all",), ("all",))
    assert starpy.permit == ("127.0.0.1/255.255.255.255",)
    assert starpy.deny == ("0.0.0.0/0.0.0.0",)
    assert starpy.canRead("call") and starpy.canWrite("originate")
    limited = managerUserPermissions(config, "Limited")
    assert limited.exists and limited.line == 23
    assert (limited.read, limited.write) == (("call",), ("call",))
    assert limited.canWrite("CALL") and not limited.canWrite("originate")
    assert "limited-secret" not in repr(limited)
    assert not managerUserPermissions(config, "nobody").exists
    assert not managerUserPermissions(config, "general").exists


def test_managerUserPermissionsTemplatesAndClassLists() -> None:
    config = parseConfig(
        "[base](!)\nread = system, call\nwrite = call\npermit = 10.0.0.0/8\n"
        "[ops](base)\nwrite = Originate,Call\npermit = 192.168.0.0/16\n"
    )
    ops = managerUserPermissions(config, "ops")
    assert ops.read == ("system", "call")
    assert ops.write == ("originate", "call")
    assert ops.permit == ("10.0.0.0/8", "192.168.0.0/16")
    assert not managerUserPermissions(config, "base").exists


# -- syntax ----------------------------------------------------------------


def test_operatorsWhitespaceAndRepeatedKeys() -> None:
    config = parseConfig(
        "[s]\n  a=1  \n\tb  =>  two words \r\nexten => 1,1,NoOp()\nexten=>2,1,NoOp()\n"
        "c =\nd==x\ne =>> y\n"
    )
    assert entries(config, "s") == [
        ("a", "=", "1"), ("b", "=>", "two words"), ("exten", "=>", "1,1,NoOp()"),
        ("exten", "=>", "2,1,NoOp()"), ("c", "=", ""), ("d", "=", "=x"), ("e", "=>", "> y"),
    ]
    s = config["s"]
    assert s.get("EXTEN") == "2,1,NoOp()" and s.getAll("Exten") == ["1,1,NoOp()", "2,1,NoOp()"]
    assert s.keys() == ["a", "b", "exten", "c", "d", "e"]
    assert "A" in s and "zz" not in s and s.get("zz", "dflt") == "dflt"
    with pytest.raises(KeyError):
        s["zz"]


def test_sectionNamesAreKeptAsWrittenAndMatchIgnoringCase() -> None:
    config = parseConfig("[Foo] trailing junk ignored\na=1\n[foo]\na=2\n")
    assert config.names() == ["Foo", "foo"]
    assert config["FOO"].get("a") == "1"
    assert [s.get("a") for s in config.sections("foo")] == ["1", "2"]
    assert "fOo" in config and "bar" not in config and config.get("bar") is None


def test_comments() -> None:
    config = parseConfig(
        "; leading comment\n[s] ; after header\na = 1 ; comment\n"
        ";------ a line comment, not a block (four dashes)\n"
        "b = x;--inline--;y\n"
        "c = 3 ;-- starts a block\nd = hidden\n  still hidden --; e = 5\n"
        "f = 6\n"
    )
    assert entries(config, "s") == [
        ("a", "=", "1"), ("b", "=", "xy"), ("c", "=", "3"), ("e", "=", "5"), ("f", "=", "6"),
    ]


def test_nestedBlockComments() -> None:
    config = parseConfig(
        "[s]\na = 1 ;-- outer ;-- inner --; still outer\nb = hidden --; c = 3\n"
        ";-- one ;-- two --; --; d = 4\n"
    )
    assert entries(config, "s") == [("a", "=", "1"), ("c", "=", "3"), ("d", "=", "4")]


def test_escapedSemicolonAndEscapedName() -> None:
    config = parseConfig(
        "[s]\nurl = http://x/\\;a=b ; comment\n\\[weird]=1\n\\#not-directive => 2\n"
        "\\=key = 3\n"
    )
    assert entries(config, "s") == [
        ("url", "=", "http://x/;a=b"), ("[weird]", "=", "1"), ("#not-directive", "=>", "2"),
        ("=key", "=", "3"),
    ]


def test_appendOperator() -> None:
    config = parseConfig("[s]\nallow = ulaw\nallow += ,alaw \nnew += value\n")
    assert entries(config, "s") == [("allow", "=", "ulaw ,alaw"), ("new", "=", "value")]
    entry = config["s"].getEntry("allow")
    assert entry is not None and entry.line == 2


def test_templatesAndInheritance(tmp_path: Path) -> None:
    path = write(
        tmp_path / "sip.conf",
        "[codecs](!)\ndisallow = all\nallow = ulaw\n"
        "[nat](!)\nnat = force_rport\n"
        "[plain]\ncontext = default\n"
        "[alice](codecs,nat)\nsecret = a\nallow = alaw\n"
        "[bob](alice,plain)\n",
    )
    config = readConfig(path)
    assert config.names() == ["plain", "alice", "bob"]
    assert config.names(includeTemplates=True) == ["codecs", "nat", "plain", "alice", "bob"]
    assert [s.name for s in config.templates()] == ["codecs", "nat"]
    assert config.get("codecs") is None
    assert config.sections("codecs", includeTemplates=True)[0].isTemplate
    alice = config["alice"]
    assert alice.templates == ["codecs", "nat"]
    assert entries(config, "alice") == [
        ("disallow", "=", "all"), ("allow", "=", "ulaw"), ("nat", "=", "force_rport"),
        ("secret", "=", "a"), ("allow", "=", "alaw"),
    ]
    assert [(e.inheritedFrom, e.line) for e in alice] == [
        ("codecs", 2), ("codecs", 3), ("nat", 5), (None, 9), (None, 10),
    ]
    assert alice.get("allow") == "alaw"  # the later line wins
    bob = config["bob"]
    assert [e.key for e in bob] == ["disallow", "allow", "nat", "secret", "allow", "context"]
    assert [e.inheritedFrom for e in bob][-1] == "plain"
    assert bob.getEntries()[0].file == str(path)


def test_additionToEarlierSection() -> None:
    config = parseConfig("[a]\nx = 1\n[b]\ny = 2\n[a](+)\nz = 3\n[b]\nw = 4\n")
    assert config.names() == ["a", "b", "b"]
    assert entries(config, "a") == [("x", "=", "1"), ("z", "=", "3")]
    assert config["a"].additions == [("<string>", 5)]
    assert [e.line for e in config["a"]] == [2, 6]


def test_additionWithInheritanceAndFilter() -> None:
    config = parseConfig(
        "[tpl](!)\nt = 1\n[ep]\ntype = aor\n[ep]\ntype = endpoint\n"
        "[ep](+type=endpoint,tpl)\nextra = yes\n"
    )
    first, second = config.sections("ep")
    assert entries(config, "ep") == [("type", "=", "aor")]
    assert [(e.key, e.value) for e in second] == [
        ("type", "endpoint"), ("t", "1"), ("extra", "yes"),
    ]


def test_sectionInheritsFromAnotherSectionNotOnlyTemplates() -> None:
    config = parseConfig("[a]\nk = v\n[b](a)\n")
    assert config["b"].get("k") == "v" and config["b"].templates == ["a"]


# -- includes --------------------------------------------------------------


def test_includeRelativeToIncludingFile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = write(
        tmp_path / "etc" / "extensions.conf",
        "[general]\nstatic = yes\n#include \"sub/users.conf\"\nafter = general\n"
        "#include <sub/other.conf>\n",
    )
    write(tmp_path / "etc" / "sub" / "users.conf", "in_general = 1\n[users]\n#include more.conf\n")
    write(tmp_path / "etc" / "sub" / "more.conf", "exten => 1,1,NoOp()\n")
    write(tmp_path / "etc" / "sub" / "other.conf", "[other]\no = 1\n")
    monkeypatch.chdir(tmp_path)  # not the including file's directory
    config = readConfig(main)
    assert entries(config, "general") == [
        ("static", "=", "yes"), ("in_general", "=", "1"), ("after", "=", "general"),
    ]
    sub = os.path.join(str(tmp_path / "etc"), "sub")
    assert config["users"].getEntry("exten") == Entry(
        "exten", "1,1,NoOp()", "=>", os.path.join(sub, "more.conf"), 1
    )
    assert config["users"].file == os.path.join(sub, "users.conf")
    assert config["other"].line == 1
    assert [i.kind for i in config.includes] == ["include", "include", "include"]
    assert config.includes[0].argument == "sub/users.conf"
    assert config.includes[0].line == 3
    assert config.files[0] == str(main) and len(config.files) == 4


def test_includeGlobAndBraces(tmp_path: Path) -> None:
    for name in ("b", "a", "c"):
        write(tmp_path / "conf.d" / ("%s.conf" % name), "[%s]\n" % name)
    write(tmp_path / "conf.d" / "skip.txt", "[skip]\n")
    main = write(
        tmp_path / "main.conf",
        "#include conf.d/*.conf\n#include conf.d/{c,a}.conf\n#tryinclude nothing/*.conf\n",
    )
    assert readConfig(main).names() == ["a", "b", "c", "c", "a"]
    write(main, "#include nothing/*.conf\n")
    with pytest.raises(ConfigError) as caught:
        readConfig(main)
    assert (caught.value.file, caught.value.line) == (str(main), 1)


def test_tryincludeMissingIsFine(tmp_path: Path) -> None:
    main = write(tmp_path / "a.conf", "[s]\n#tryinclude missing.conf\nk = v\n")
    config = readConfig(main)
    assert config["s"].get("k") == "v"
    assert config.includes[0].kind == "tryinclude" and config.includes[0].files == []


def test_includeMissingIsAnError(tmp_path: Path) -> None:
    main = write(tmp_path / "a.conf", "[s]\n\n#include missing.conf\n")
    with pytest.raises(ConfigError) as caught:
        readConfig(main)
    assert (caught.value.file, caught.value.line) == (str(main), 3)
    assert "missing.conf" in str(caught.value) and str(main) in str(caught.value)


@pytest.mark.parametrize("directive", ["#include", "#tryinclude"])
def test_includeLoopsRefused(tmp_path: Path, directive: str) -> None:
    a = write(tmp_path / "a.conf", "[s]\n%s b.conf\n" % directive)
    b = write(tmp_path / "b.conf", "x = 1\n%s ./a.conf\n" % directive)
    with pytest.raises(ConfigError) as caught:
        readConfig(a)
    assert (caught.value.file, caught.value.line) == (str(b), 2)
    assert "include loop" in str(caught.value)
    write(tmp_path / "self.conf", "[s]\n#include self.conf\n")
    with pytest.raises(ConfigError, match="include loop"):
        readConfig(tmp_path / "self.conf")


def test_includeDepthLimit(tmp_path: Path) -> None:
    for level in range(12):
        write(tmp_path / ("%d.conf" % level), "#include %d.conf\n" % (level + 1))
    write(tmp_path / "12.conf", "[deep]\n")
    with pytest.raises(ConfigError, match="deeper than 10") as caught:
        readConfig(tmp_path / "0.conf")
    assert caught.value.file == str(tmp_path / "10.conf")
    write(tmp_path / "10.conf", "[deep]\n")
    assert readConfig(tmp_path / "0.conf").names() == ["deep"]


def test_sameFileIncludedTwiceIsNotALoop(tmp_path: Path) -> None:
    write(tmp_path / "common.conf", "c = 1\n")
    main = write(tmp_path / "m.conf", "[a]\n#include common.conf\n[b]\n#include common.conf\n")
    config = readConfig(main)
    assert config["a"].get("c") == config["b"].get("c") == "1"


# -- #exec -----------------------------------------------------------------


def test_execRefusedByDefault() -> None:
    with pytest.raises(ConfigError, match="allowExec") as caught:
        parseConfig("[s]\n#exec /bin/echo a=1\n", "x.conf")
    assert (caught.value.file, caught.value.line) == ("x.conf", 2)
    lax = parseConfig("[s]\n#exec /bin/echo a=1\nb = 2\n", strict=False)
    assert entries(lax, "s") == [("b", "=", "2")]
    assert lax.warnings[0].line == 2 and "allowExec" in lax.warnings[0].message


def test_execAllowedWithRunner() -> None:
    commands: List[str] = []

    def runner(command: str) -> bytes:
        commands.append(command)
        return b"generated = yes\n[made]\nz => 9\n"

    config = parseConfig(
        "[s]\n#exec \"/usr/local/bin/gen --all\"\nafter = 1\n", allowExec=True, execRunner=runner
    )
    assert commands == ["/usr/local/bin/gen --all"]
    assert entries(config, "s") == [("generated", "=", "yes"), ("after", "=", "1")]
    assert config["made"].getEntry("z") == Entry("z", "9", "=>", "#exec /usr/local/bin/gen --all", 3)


@pytest.mark.skipif(sys.platform == "win32", reason="needs /bin/sh")
def test_execRunsShellCommand() -> None:
    # stderr is parsed too; the ';' starts a comment even on a directive line
    config = parseConfig(
        "[s]\n#exec printf 'a = 1\\nb => 2\\n' && echo 'c = 3' >&2 ; echo 'd = 4'\n",
        allowExec=True,
    )
    assert entries(config, "s") == [("a", "=", "1"), ("b", "=>", "2"), ("c", "=", "3")]


# -- malformed input -------------------------------------------------------

MALFORMED = [
    ("a = 1\n", 1, "outside any section"),
    ("; c\n\n[s\na=1\n", 3, "closing ']'"),
    ("[s](!\n", 1, "closing ')'"),
    ("[s]\n[t](nope)\n", 2, "unknown"),
    ("[t](!)\n[s](t,nope)\n", 2, "nope"),
    ("[s](+)\n", 1, "does not exist"),
    ("[tpl](!)\n[tpl](+)\n", 2, "does not exist"),
    ("[s]()\n", 1, "unknown"),
    ("[s]\na = 1\n;-- never closed\nb = 2\n", 3, "unterminated"),
    ("[s]\nno equal sign here\n", 2, "no '='"),
    ("[s]\n = value\n", 2, "no name"),
    ("[s]\n#frobnicate x\n", 2, "unknown directive"),
    ("[s]\n#include\n", 2, "needs an argument"),
    ("[s]\n\\ x = 1\n", 2, "invalid escape"),
    ("[s]\na = 1 --; b\n", 2, "without an open"),
    ("[s]\nk = %s\n" % ("v" * 9000), 2, "too long"),
    ("\ufeff[s]\n", 1, "byte order mark"),
]


@pytest.mark.parametrize("text,line,words", MALFORMED)
def test_malformedNamesFileAndLine(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path / "bad.conf", text)
    with pytest.raises(ConfigError) as caught:
        readConfig(path)
    assert isinstance(caught.value, error.StarpyError)
    assert (caught.value.file, caught.value.line) == (str(path), line)
    assert words in str(caught.value)
    assert str(caught.value).startswith("%s:%d: " % (path, line))


def test_lenientModeRecordsWhatAsteriskOnlyWarnsAbout() -> None:
    config = parseConfig(
        "[s]\njunk\n = v\n#frobnicate\nok = 1\nlong = %s\nx = 1 --; y\n;-- open\n" % ("v" * 9000),
        "lax.conf",
        strict=False,
    )
    assert entries(config, "s") == [("ok", "=", "1"), ("x", "=", "1 --")]
    assert [w.line for w in config.warnings] == [2, 3, 4, 6, 7, 8]
    assert str(config.warnings[0]).startswith("lax.conf:2: ")
    with pytest.raises(ConfigError, match="outside any section"):
        parseConfig("a = 1\n", strict=False)


# -- decoding ----------------------------------------------------------------


def test_decodingKeepsBadBytes(tmp_path: Path) -> None:
    path = tmp_path / "latin.conf"
    path.write_bytes(b"[s]\nname = Jos\xe9\ncity = K\xc3\xb6ln\nnul = a\x00ignored\n")
    config = readConfig(path)
    assert config["s"].get("city") == "K\u00f6ln"
    assert config["s"]["name"].encode("utf-8", "surrogateescape") == b"Jos\xe9"
    assert config["s"]["nul"] == "a"
    assert parseConfig(b"[s]\nk = \xff\n")["s"]["k"] == "\udcff"


# -- fuzzing -----------------------------------------------------------------

CONF_ALPHABET = st.sampled_from(list("[]()!+,;-=>#\\ \t\r\nabcxyz01\x00") + ["\u00e9"])
CONF_TEXT = st.lists(CONF_ALPHABET, max_size=300).map("".join)


def _parseOrConfigError(text: "str | bytes", filename: str) -> None:
    for strict in (True, False):
        try:
            config = parseConfig(text, filename, strict=strict)
        except ConfigError as e:
            assert e.file is not None
        else:
            for section in config.sections(includeTemplates=True):
                for entry in section:
                    assert entry.operator in ("=", "=>")
                    assert entry.line >= 1


@pytest.fixture(scope="module")
def fuzzFile(tmp_path_factory: pytest.TempPathFactory) -> str:
    # an empty directory, so any #include in generated text finds nothing
    return str(tmp_path_factory.mktemp("fuzz") / "fuzz.conf")


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), CONF_TEXT))
def test_fuzzTextParsesOrRaisesConfigError(fuzzFile: str, text: str) -> None:
    _parseOrConfigError(text.replace("/", "_"), fuzzFile)


@settings(max_examples=300, deadline=None)
@given(data=st.binary())
def test_fuzzBytesParsesOrRaisesConfigError(fuzzFile: str, data: bytes) -> None:
    _parseOrConfigError(data.replace(b"/", b"_"), fuzzFile)


def test_readmeSnippetRuns(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Asterisk configuration files", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[4] == "=> n,Hangup() 15"
    assert out[-1] == "True ('call',) ('system', 'call')"


def test_braceExpansionIsBounded(tmp_path: Path) -> None:
    main = write(tmp_path / "m.conf", "#tryinclude x%s.conf\n" % ("{a,b}" * 12))
    with pytest.raises(ConfigError, match="too many brace") as caught:
        readConfig(main)
    assert (caught.value.file, caught.value.line) == (str(main), 1)
    write(tmp_path / "xab.conf", "[ab]\n")
    assert readConfig(write(main, "#include x{a{a,b},c}.conf\n")).names() == ["ab"]


def test_deeplyNestedBracesInAnIncludeAreAConfigError(tmp_path: Path) -> None:
    """Nesting used to recurse once per level and end in RecursionError."""
    main = write(tmp_path / "m.conf", "[s]\n#include x%sa%s.conf\n" % ("{" * 3000, "}" * 3000))
    with pytest.raises(ConfigError, match="nested deeper than 32 levels") as caught:
        readConfig(main)
    assert (caught.value.file, caught.value.line) == (str(main), 2)
    assert len(caught.value.message) < 150  # the 6,000-character argument is shortened
    write(tmp_path / "xa.conf", "[a]\n")
    write(main, "#include x%sa%s.conf\n" % ("{" * 32, "}" * 32))
    assert readConfig(main).names() == ["a"]
    # one group after another used to recurse once per group as well
    write(main, "#include x%s.conf\n" % ("{a}" * 2000))
    with pytest.raises(ConfigError, match="no such file") as caught:
        readConfig(main)
    assert (caught.value.file, caught.value.line) == (str(main), 1)


@pytest.mark.parametrize("pattern,expected", [
    ("a", ["a"]),
    ("x{a,b}y", ["xay", "xby"]),
    ("x{a{1,2},c}", ["xa1", "xa2", "xc"]),
    ("{a}{b,c}{d,e}", ["abd", "abe", "acd", "ace"]),
    ("a{b,}c", ["abc", "ac"]),
    ("{a,{b,c}", ["{a,b", "{a,c"]),  # an unmatched '{' is literal, its ',' too
    ("{a{b}", ["{ab"]),
    ("}{a,b}{", ["}a{", "}b{"]),
    ("{}", [""]),
])
def test_braceExpansion(pattern: str, expected: List[str]) -> None:
    from starpy._configparser import expandBraces

    assert expandBraces(pattern) == expected


def test_sectionLookupsAreIndexed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each inheritance or addition looks only at the sections of that name.

    Counting the sections examined (not the time): a scan of the whole file
    per lookup made N template/section pairs cost about N*N checks.
    """
    from starpy import _configparser

    checked = [0]
    original = _configparser._sectionMatches

    def counting(section: Any, name: str, criteria: str) -> bool:
        checked[0] += 1
        return original(section, name, criteria)

    monkeypatch.setattr(_configparser, "_sectionMatches", counting)
    pairs = 3000
    text = "".join("[t%d](!)\nk = v%d\n[S%d](T%d)\n[s%d](+)\nx = %d\n" % ((i,) * 6)
                   for i in range(pairs))
    config = parseConfig(text)
    assert checked[0] == 2 * pairs  # one template lookup and one addition lookup per pair
    assert len(config) == pairs
    assert config["s2999"].items() == [("k", "v2999"), ("x", "2999")]
    assert config.get("T5") is None and config.sections("t5", includeTemplates=True)[0].isTemplate
