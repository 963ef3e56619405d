"""The AMI client over real loopback sockets: endpoint strings and TLS."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import defer, reactor
from twisted.internet.endpoints import serverFromString

from starpy import manager
from starpy.testing.ami import FakeAMIServerFactory
from tests.wire import portNumber


def selfSigned(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 'localhost' and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    certPath = directory / "cert.pem"
    keyPath = directory / "key.pem"
    certPath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyPath.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certPath, keyPath


@pytest_twisted.ensureDeferred
async def test_loginWithTcpEndpointDescription() -> None:
    server = FakeAMIServerFactory(clock=reactor)
    port = server.listen(0, reactor=reactor)
    try:
        ami = await manager.AMIFactory("starpy", "starpy-secret", reactor=reactor).login(
            "tcp:host=127.0.0.1:port=%d" % portNumber(port))
        assert ami.loggedIn
        assert (await ami.ping())["ping"] == "Pong"
        await ami.logoff()
    finally:
        await defer.maybeDeferred(port.stopListening)


@pytest_twisted.ensureDeferred
async def test_amiOverTlsWithATrustedSelfSignedCertificate(tmp_path: Path) -> None:
    certPath, keyPath = selfSigned(tmp_path)
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "ca.pem").write_bytes(certPath.read_bytes())
    server = FakeAMIServerFactory(clock=reactor)
    endpoint = serverFromString(
        reactor, "ssl:0:interface=127.0.0.1:privateKey=%s:certKey=%s" % (keyPath, certPath))
    port: Any = await endpoint.listen(server)
    try:
        ami = await manager.AMIFactory("starpy", "starpy-secret", md5=True, reactor=reactor).login(
            "tls:host=localhost:port=%d:trustRoots=%s" % (port.getHost().port, roots))
        assert ami.loggedIn and ami.amiVersion == "11.0.0"
        assert (await ami.command("core show version"))[0].startswith("Asterisk 22")
        await ami.logoff()
    finally:
        await defer.maybeDeferred(port.stopListening)


@pytest_twisted.ensureDeferred
async def test_amiOverTlsRefusesAnUntrustedCertificate(tmp_path: Path) -> None:
    certPath, keyPath = selfSigned(tmp_path)
    server = FakeAMIServerFactory(clock=reactor)
    endpoint = serverFromString(
        reactor, "ssl:0:interface=127.0.0.1:privateKey=%s:certKey=%s" % (keyPath, certPath))
    port: Any = await endpoint.listen(server)
    try:
        factory = manager.AMIFactory("starpy", "starpy-secret", reactor=reactor)
        with pytest.raises(Exception) as caught:
            await factory.login("tls:host=localhost:port=%d" % port.getHost().port, timeout=10)
        assert "certificate verify failed" in str(caught.value)
        assert server.received == []  # no action, no secret, reached the server
    finally:
        await defer.maybeDeferred(port.stopListening)
