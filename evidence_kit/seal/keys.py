"""Keys: our own, and those standard tools make.

* age identities: ``AGE-SECRET-KEY-1...`` files (``age-keygen``, ``keys generate``) and SSH
  private keys (``ssh-keygen``, ed25519 and RSA, unencrypted).
* age recipients: ``age1...``, ``ssh-ed25519 ...``, ``ssh-rsa ...`` strings, or a file of them
  (one per line, ``#`` comments), like ``age -R``.
* signing keys: Ed25519 PKCS#8 PEM (``openssl genpkey -algorithm ed25519``, ``keys generate``)
  or OpenSSH ed25519 private keys.

The signer fingerprint is ``SHA256:`` + the hex SHA-256 of the DER SubjectPublicKeyInfo, which
anyone can recompute: ``openssl pkey -pubin -in signer-public.pem -outform DER | sha256sum``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence_kit.errors import KeyFileError, UsageError

IDENTITY_FILE = "age-identity.txt"
RECIPIENT_FILE = "age-recipient.txt"
SIGNING_KEY_FILE = "signing-key.pem"
SIGNING_PUB_FILE = "signing-public.pem"


def fingerprint(public_key: Ed25519PublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class GeneratedKeys:
    folder: Path
    recipient: str
    signer_fingerprint: str
    files: tuple[Path, ...]

    @property
    def identity(self) -> Path:
        return self.folder / IDENTITY_FILE

    @property
    def signing_key(self) -> Path:
        return self.folder / SIGNING_KEY_FILE

    @property
    def signing_public(self) -> Path:
        return self.folder / SIGNING_PUB_FILE


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600)


def generate(out: Path) -> GeneratedKeys:
    """Write a new age X25519 identity and an Ed25519 signing key (each with its public part)."""
    from pyrage import x25519

    out = Path(out)
    names = (IDENTITY_FILE, RECIPIENT_FILE, SIGNING_KEY_FILE, SIGNING_PUB_FILE)
    existing = [n for n in names if (out / n).exists()]
    if existing:
        raise UsageError(f"{out}: {', '.join(existing)} already exist(s); keys are never overwritten")
    out.mkdir(parents=True, exist_ok=True)
    identity = x25519.Identity.generate()
    recipient = str(identity.to_public())
    created = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _write_new(out / IDENTITY_FILE,
               f"# created: {created}\n# public key: {recipient}\n{identity}\n".encode())
    _write_new(out / RECIPIENT_FILE, f"{recipient}\n".encode())
    key = Ed25519PrivateKey.generate()
    _write_new(out / SIGNING_KEY_FILE, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    _write_new(out / SIGNING_PUB_FILE, public_pem(key.public_key()))
    return GeneratedKeys(out, recipient, fingerprint(key.public_key()), tuple(out / n for n in names))


# --------------------------------------------------------------------------- recipients


def parse_recipient(text: str, source: str = "--recipient") -> Any:
    """One age recipient (pyrage object) from its string form."""
    from pyrage import RecipientError, ssh, x25519

    value = text.strip()
    try:
        if value.startswith("age1"):
            return x25519.Recipient.from_str(value)
        if value.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            return ssh.Recipient.from_str(" ".join(value.split()[:2]))
    except (RecipientError, ValueError) as exc:
        raise KeyFileError(f"{source}: not a valid age recipient ({exc})")
    raise KeyFileError(f"{source}: {value[:40]!r} is not an age recipient (age1..., ssh-ed25519 or ssh-rsa)")


def load_recipients(values: list[str]) -> tuple[list[Any], list[str]]:
    """Recipients from strings or files of them; returns (pyrage objects, their string forms)."""
    objs: list[Any] = []
    texts: list[str] = []
    for value in values:
        path = Path(value)
        if not value.startswith(("age1", "ssh-")) and path.is_file():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise KeyFileError(f"{path}: unreadable recipients file ({exc.__class__.__name__})")
            found = False
            for number, line in enumerate(lines, start=1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                objs.append(parse_recipient(line, f"{path}: line {number}"))
                texts.append(line)
                found = True
            if not found:
                raise KeyFileError(f"{path}: no recipient in file")
        else:
            objs.append(parse_recipient(value))
            texts.append(value.strip())
    return objs, texts


# --------------------------------------------------------------------------- identities


def load_identities(path: Path) -> list[Any]:
    """age identities from an identity file or an SSH private key."""
    from pyrage import IdentityError, ssh, x25519

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read identity ({exc.strerror or exc.__class__.__name__})")
    if b"PRIVATE KEY-----" in raw:
        if b"ENCRYPTED" in raw or b"Proc-Type: 4,ENCRYPTED" in raw:
            raise KeyFileError(f"{path}: passphrase-protected SSH keys are not supported; "
                            "use an unencrypted copy or an age identity")
        try:
            return [ssh.Identity.from_buffer(raw)]
        except (IdentityError, ValueError) as exc:
            raise KeyFileError(f"{path}: not a usable SSH identity ({exc})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not an age identity file (not UTF-8 text)")
    identities = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("AGE-SECRET-KEY-1"):
            raise KeyFileError(f"{path}: line {number}: not an age identity (AGE-SECRET-KEY-1...)")
        try:
            identities.append(x25519.Identity.from_str(line))
        except (IdentityError, ValueError):
            raise KeyFileError(f"{path}: line {number}: malformed age identity")
    if not identities:
        raise KeyFileError(f"{path}: no age identity in file")
    return identities


# --------------------------------------------------------------------------- signing keys


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read signing key ({exc.strerror or exc.__class__.__name__})")
    try:
        if b"OPENSSH PRIVATE KEY" in raw:
            key: Any = serialization.load_ssh_private_key(raw, password=None)
        elif raw.lstrip().startswith(b"-----"):
            key = serialization.load_pem_private_key(raw, password=None)
        else:
            key = serialization.load_der_private_key(raw, password=None)
    except TypeError:
        raise KeyFileError(f"{path}: the signing key is passphrase-protected; give an unencrypted key")
    except ValueError as exc:
        raise KeyFileError(f"{path}: not a readable private key ({' '.join(str(exc).split())[:120]})")
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for unknown kinds
        raise KeyFileError(f"{path}: not a readable private key ({exc.__class__.__name__})")
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: the signing key must be Ed25519, not {type(key).__name__}")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An expected signer (``--trust-key``): a public PEM, an OpenSSH public key, or a private key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key ({exc.strerror or exc.__class__.__name__})")
    key: Any
    try:
        if raw.startswith(b"ssh-ed25519 "):
            key = serialization.load_ssh_public_key(raw.strip())
        elif b"PUBLIC KEY-----" in raw:
            key = serialization.load_pem_public_key(raw)
        else:
            key = load_signing_key(path).public_key()
    except KeyFileError:
        raise KeyFileError(f"{path}: not an Ed25519 public key (PEM, OpenSSH) or signing key")
    except Exception as exc:
        raise KeyFileError(f"{path}: not a readable public key ({exc.__class__.__name__})")
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: the trusted key must be Ed25519, not {type(key).__name__}")
    return key
