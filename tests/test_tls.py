"""TLS is checked before connecting: Twisted's TLS support, and the TLS files."""
from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Iterator

import pytest
from twisted.internet.task import Clock

from starpy import cli, error, manager
from starpy._tls import INSTALL_HINT, tlsFileProblems, tlsUnavailable
from starpy.cli.checkconfig import runCheckConfig
from starpy.utilapplication import AMISpecifier
from tests.deferreds import failure as failureOf
from tests.test_manager_tcp import selfSigned


@pytest.fixture
def withoutTLS(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An environment without pyOpenSSL, as after a plain ``pip install starpy``."""
    monkeypatch.setitem(sys.modules, "OpenSSL", None)
    yield


def test_theExtraIsThereForTheTests() -> None:
    assert tlsUnavailable() is None


def test_tlsLoginWithoutTheExtraFailsBeforeConnecting(withoutTLS: None) -> None:
    why = tlsUnavailable()
    assert why is not None and why.endswith(INSTALL_HINT)
    clock = Clock()
    factory = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    with pytest.raises(error.TLSUnavailableError, match=r"pip install 'starpy\[tls\]'"):
        factory.endpoint("tls:host=pbx.example.com:port=5039")
    failure = failureOf(factory.login("tls:host=pbx.example.com:port=5039"))
    assert failure.check(error.TLSUnavailableError)
    assert clock.getDelayedCalls() == []
    specifier = AMISpecifier(username="starpy", secret="s", tls=True, reactor=clock)
    (problem,) = specifier.tlsProblems()
    assert (problem.section, problem.key) == ("AMI", "tls")
    assert INSTALL_HINT in problem.message


def test_checkConfigWithoutTheExtra(withoutTLS: None, tmp_path: Path) -> None:
    conf = tmp_path / "s.conf"
    conf.write_text("[AMI]\nusername = starpy\ntls = yes\nport = 5039\n")
    out, err = io.StringIO(), io.StringIO()
    args = cli._buildParser().parse_args(["check-config", "-c", str(conf)])
    assert runCheckConfig(args, out, err) == cli.EXIT_BAD_CONFIG
    problems = [line for line in out.getvalue().splitlines() if line.startswith("problem: ")]
    assert len(problems) == 1 and problems[0].startswith("problem: [AMI] tls: TLS needs")
    assert problems[0].endswith(INSTALL_HINT)


def test_tlsFilesAreLoaded(tmp_path: Path) -> None:
    certificate, key = selfSigned(tmp_path)
    roots = tmp_path / "roots"
    roots.mkdir()
    assert tlsFileProblems(str(roots), "", "") == [
        ("tls_ca", "%r holds no loadable *.pem certificate: it would trust nothing"
         % str(roots))]
    (roots / "ca.pem").write_bytes(certificate.read_bytes())
    (roots / "notes.txt").write_text("not a certificate")
    assert tlsFileProblems(str(roots), str(certificate), str(key)) == []
    missing = str(tmp_path / "nowhere")
    assert tlsFileProblems(missing, "", "") == [
        ("tls_ca", "%r is not a directory of PEM CA certificates" % missing)]
    [(name, problem)] = tlsFileProblems("", str(key), str(key))
    assert name == "tls_certificate" and "cannot load" in problem
    [(name, problem)] = tlsFileProblems("", str(certificate), "")
    assert name == "tls_certificate" and "private key" in problem  # no key in the certificate
    [(name, problem)] = tlsFileProblems("", str(certificate), str(certificate))
    assert name == "tls_key" and "private key" in problem


def test_checkConfigLoadsTheTlsFiles(tmp_path: Path) -> None:
    certificate, key = selfSigned(tmp_path)
    conf = tmp_path / "s.conf"
    conf.write_text("[AMI]\nusername = starpy\ntls = yes\nport = 5039\ntls_ca = %s\n"
                    % (tmp_path / "missing",))
    out = io.StringIO()
    args = cli._buildParser().parse_args(["check-config", "-c", str(conf)])
    assert runCheckConfig(args, out, io.StringIO()) == cli.EXIT_BAD_CONFIG
    assert "problem: [AMI] tls_ca: %r is not a directory" % str(tmp_path / "missing") \
        in out.getvalue()
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "ca.pem").write_bytes(certificate.read_bytes())
    conf.write_text("[AMI]\nusername = starpy\ntls = yes\nport = 5039\ntls_ca = %s\n"
                    "tls_certificate = %s\ntls_key = %s\n" % (roots, certificate, key))
    out = io.StringIO()
    assert runCheckConfig(args, out, io.StringIO()) == cli.EXIT_OK
    assert "[AMI] TLS support present; TLS files load" in out.getvalue()


def test_aWrongTlsCaIsAConfigurationErrorNotUnreachable(tmp_path: Path) -> None:
    clock = Clock()
    specifier = AMISpecifier(username="starpy", secret="s", tls=True,
                             tlsCA=str(tmp_path / "missing"), reactor=clock)
    failure = failureOf(specifier.login())
    assert failure.check(error.ConfigError)
    assert "[AMI] tls_ca: " in str(failure.value)
    assert clock.getDelayedCalls() == []
