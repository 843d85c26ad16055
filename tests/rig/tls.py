"""Test certificates made the way an operator makes them: the shipped pilot-CA script, then openssl.

:func:`pilot_ca` runs ``deploy/mosquitto/make-pilot-ca.sh`` (CA plus a broker certificate for
127.0.0.1); :func:`client_certificate` signs a client certificate with that CA for mutual TLS.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .mosquitto import TlsFiles

__all__ = ["client_certificate", "pilot_ca"]

REPO = Path(__file__).resolve().parents[2]
# openssl and the script finish in well under a second; the margin is for a loaded 2-core machine.
OPENSSL_TIMEOUT_S = 60


def pilot_ca(directory: Path, name: str = "localhost", ip: str = "127.0.0.1", *more_ips: str) -> TlsFiles:
    """A CA and a broker certificate for ``name``/``ip`` (and ``more_ips``) made by the shipped script."""
    subprocess.run(
        ["bash", str(REPO / "deploy/mosquitto/make-pilot-ca.sh"), str(directory), name, ip, *more_ips],
        check=True, capture_output=True, timeout=OPENSSL_TIMEOUT_S,
    )
    return TlsFiles(directory / "ca.crt", directory / "broker.crt", directory / "broker.key")


def client_certificate(ca: TlsFiles, directory: Path, common_name: str) -> tuple[Path, Path]:
    """An EC P-256 client certificate for ``common_name`` signed by ``ca``; returns (cert, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    key, csr, cert = directory / f"{common_name}.key", directory / f"{common_name}.csr", directory / f"{common_name}.crt"
    ext = directory / f"{common_name}.ext"
    ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
    ca_key = ca.cafile.with_name("ca.key")
    for command in (
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        ["openssl", "req", "-new", "-key", str(key), "-subj", f"/O=camwatch pilot/CN={common_name}", "-out", str(csr)],
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca.cafile), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "2", "-sha256", "-extfile", str(ext), "-out", str(cert)],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=OPENSSL_TIMEOUT_S)
    key.chmod(0o600)
    return cert, key
