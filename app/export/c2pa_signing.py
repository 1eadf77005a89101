"""Optional C2PA Content Credentials: a signed manifest embedded in MP4 / MOV exports (`--sign-c2pa`).

Needs the optional extra `pip install shotline[c2pa]` (`c2pa-python`, the Content Authenticity
Initiative's own binding of the c2pa-rs library, and `cryptography`). What we found, tried offline
(in a network namespace with no network) with c2pa-python 0.38.1 (0.38.2 is not on our index):

- It signs MP4 and MOV files in about 10–25 ms with an ES256 key and a certificate generated here
  (no certificate authority, no timestamp server, nothing fetched), and its own reader then reports
  the manifest "Valid": claim signature valid, BMFF hash matches. PyAV still decodes the file and
  keeps our comment / description tags. The certificate must be an end-entity one (not a CA) with
  digital-signature key usage, an extended key usage C2PA accepts (e-mail protection here) and an
  authority key identifier: without the last, c2pa-rs refuses it ("the certificate is invalid").
- A `c2pa.created` action must name an IPTC digital source type; we give trainedAlgorithmicMedia,
  compositeWithTrainedAlgorithmicMedia when the filmmaker's own clips are in the edit too, or
  composite when nothing in it was generated.
- The signer is only "untrusted" (`signingCredential.untrusted`): a self-made certificate is on no
  trust list. So the manifest proves the file is unchanged since this machine signed it and states
  "created by a trained algorithm" (IPTC digital source type), not who the signer is. A studio that
  has a certificate from a C2PA-trusted authority can put it at the same paths (`signer_files`).
- The wheel is heavy for an editor (a 53 MB native library, plus `requests` and `cryptography`),
  so it stays an optional extra; PNG frame folders and OpenTimelineIO files are not signed (their
  provenance is in metadata and the `.provenance.json` sidecar).

The key and certificate are made once per user under `$XDG_CONFIG_HOME/shotline/c2pa/` (the key
readable by the user only) and reused.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import secrets
from pathlib import Path
from typing import Any

from engine.errors import MediaError

__all__ = ["is_available", "sign_file", "signer_files"]

MIME_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime"}
CERT_NAME, KEY_NAME = "signer.pem", "signer.key"
INSTALL_HINT = "C2PA signing needs the optional extra: pip install 'shotline[c2pa]'."


def is_available() -> bool:
    """Whether the optional C2PA libraries are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("c2pa", "cryptography"))


def signer_folder() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "shotline" / "c2pa"


def signer_files() -> tuple[Path, Path]:
    """The local signing certificate and key (PEM), made on first use."""
    folder = signer_folder()
    cert, key = folder / CERT_NAME, folder / KEY_NAME
    if not (cert.is_file() and key.is_file()):
        _make_local_signer(cert, key)
    return cert, key


def _make_local_signer(cert_path: Path, key_path: Path) -> None:
    """An EC P-256 key and a self-signed end-entity certificate for document signing."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Shotline local signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Shotline user"),
        ]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def manifest(record: dict[str, Any], title: str) -> dict[str, Any]:
    """The C2PA manifest: how it was made (IPTC source type), with Shotline's provenance record attached."""
    name, _, version = record["generator"].partition(" ")
    created = {
        "action": "c2pa.created",
        "digitalSourceType": record["digital_source_type"],  # IPTC: trainedAlgorithmicMedia, composite…
        "softwareAgent": {"name": name, "version": version},
    }
    return {
        "claim_generator_info": [{"name": name, "version": version}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [created]},
            },
            {"label": "org.shotline.provenance", "data": json.loads(json.dumps(record))},
        ],
    }


def sign_file(source: Path, target: Path, record: dict[str, Any]) -> Path:
    """Write `source` with an embedded, signed C2PA manifest to `target` (a temp name, then a rename)."""
    if not is_available():
        raise MediaError(INSTALL_HINT, detail="import c2pa / cryptography failed")
    import c2pa

    mime = MIME_TYPES.get(Path(target).suffix.lower())
    if mime is None:
        raise MediaError("C2PA signing works for .mp4 and .mov files.", detail=f"{target}")
    cert, key = signer_files()
    temp = target.with_name(f".{target.name}.signing-{secrets.token_hex(4)}{target.suffix}")
    try:
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert.read_bytes(), key.read_bytes(), None)
        with (
            c2pa.Signer.from_info(info) as signer,
            c2pa.Builder(manifest(record, target.name)) as builder,
            open(source, "rb") as src,
            open(temp, "w+b") as dst,
        ):
            builder.sign(signer, mime, src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(temp, target)
    except (OSError, c2pa.C2paError) as error:
        raise MediaError(
            f"Could not sign “{target.name}” with a C2PA manifest; nothing was written.",
            detail=f"{type(error).__name__}: {error}",
        ) from error
    finally:
        temp.unlink(missing_ok=True)
    return target
