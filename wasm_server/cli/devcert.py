"""``wasm-server dev-cert DIR``: a local CA and a certificate for localhost, 127.0.0.1 and ::1.

    wasm-server dev-cert DIR [--name NAME]... [--force]

Writes DIR/ca.pem (trust this one), DIR/ca-key.pem, DIR/cert.pem and
DIR/key.pem (keys mode 0600), valid for a year, made with the
``cryptography`` package. For development only.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
from pathlib import Path

from ..errors import ConfigError

FILES = ("ca.pem", "ca-key.pem", "cert.pem", "key.pem")
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")


def _write(path: Path, data: bytes, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make(directory: Path, names: list[str], *, force: bool = False) -> list[Path]:
    """Write the CA and a leaf certificate for ``names``; returns the files written."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    existing = [directory / f for f in FILES if (directory / f).exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]} exists; pass --force to replace the certificates in {directory}")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wasm-server development CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    private = serialization.PrivateFormat.PKCS8
    none = serialization.NoEncryption()
    out = [directory / f for f in FILES]
    _write(out[0], ca.public_bytes(pem), False)
    _write(out[1], ca_key.private_bytes(pem, private, none), True)
    _write(out[2], leaf.public_bytes(pem), False)
    _write(out[3], key.private_bytes(pem, private, none), True)
    return out


def main(args: argparse.Namespace) -> int:
    """The command: write the files and say how to use them."""
    directory = Path(args.dir)
    names = list(DEFAULT_NAMES) + [n for n in (args.name or []) if n not in DEFAULT_NAMES]
    files = make(directory, names, force=bool(args.force))
    for f in files:
        print(f"wrote {f}", file=sys.stderr)
    print(f"certificate for: {', '.join(names)}\n"
          f"serve:  wasm-server up PATH --listen-tls 127.0.0.1:8443 --cert {files[2]} --key {files[3]}\n"
          f"try:    curl --cacert {files[0]} https://localhost:8443/", file=sys.stderr)
    return 0
