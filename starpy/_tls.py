"""What StarPy checks before a TLS connection: Twisted's TLS support, the files.

Twisted makes TLS connections only when pyOpenSSL and service_identity are
installed (StarPy's ``tls`` extra); without them its TLS endpoints fail
with a ``NameError`` deep inside Twisted.  These checks run before anything
connects, so that the user reads what is missing instead.
"""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

from starpy.error import TLSUnavailableError

__all__ = ["requireTLS", "tlsFileProblems", "tlsUnavailable", "isTLSDescription"]

#: The one line a user reads when TLS is asked for without the extra.
INSTALL_HINT = "install StarPy with its tls extra: pip install 'starpy[tls]'"


def tlsUnavailable() -> Optional[str]:
    """Why Twisted cannot make TLS connections in this environment, or ``None``."""
    try:
        import OpenSSL  # noqa: F401
        import service_identity  # noqa: F401
        from twisted.internet.ssl import optionsForClientTLS  # noqa: F401
    except ImportError as e:
        return "TLS needs pyOpenSSL and service_identity (%s); %s" % (
            getattr(e, "name", None) or e, INSTALL_HINT)
    return None


def requireTLS() -> None:
    """Raise :class:`TLSUnavailableError <starpy.error.TLSUnavailableError>` unless TLS can be used."""
    why = tlsUnavailable()
    if why is not None:
        raise TLSUnavailableError(why)


def isTLSDescription(description: str) -> bool:
    """Whether a Twisted client endpoint description asks for TLS."""
    return description.split(":", 1)[0].strip().lower() in ("tls", "ssl")


def tlsFileProblems(ca: str, certificate: str, key: str) -> List[Tuple[str, str]]:
    """Load the TLS files as a connection would; ``(key, problem)`` for each failure.

    *ca* is a directory of PEM certificates (Twisted reads its ``*.pem``
    files and skips what does not load: a directory with none trusts
    nothing); *certificate* a PEM certificate and *key* its private key
    (empty: in *certificate*).  Empty names are not checked.
    """
    if tlsUnavailable() is not None:
        return []  # reported on its own; nothing can be loaded
    from OpenSSL.crypto import FILETYPE_PEM
    from OpenSSL.crypto import Error as CryptoError
    from OpenSSL.SSL import Error as SSLError
    from twisted.internet.ssl import Certificate, KeyPair

    problems: List[Tuple[str, str]] = []
    if ca:
        if not os.path.isdir(ca):
            problems.append(("tls_ca", "%r is not a directory of PEM CA certificates" % (ca,)))
        else:
            loaded = 0
            for name in sorted(os.listdir(ca)):
                if not name.lower().endswith(".pem"):
                    continue
                try:
                    with open(os.path.join(ca, name), "rb") as f:
                        Certificate.loadPEM(f.read())
                except (OSError, SSLError, CryptoError, ValueError):
                    continue
                loaded += 1
            if not loaded:
                problems.append(("tls_ca", "%r holds no loadable *.pem certificate: "
                                 "it would trust nothing" % (ca,)))
    if certificate:
        try:
            with open(certificate, "rb") as f:
                Certificate.loadPEM(f.read())
        except (OSError, SSLError, CryptoError, ValueError) as e:
            problems.append(("tls_certificate", "cannot load %r as a PEM certificate: %s"
                             % (certificate, _oneLine(e))))
        keyFile, keyName = (key, "tls_key") if key else (certificate, "tls_certificate")
        try:
            with open(keyFile, "rb") as f:
                KeyPair.load(f.read(), FILETYPE_PEM)
        except (OSError, SSLError, CryptoError, ValueError) as e:
            problems.append((keyName, "cannot load a PEM private key from %r: %s"
                             % (keyFile, _oneLine(e))))
    return problems


def _oneLine(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
