"""A real RFC 3161 time-stamp authority for the demo and tests: ``openssl ts -reply`` behind HTTP.

Own root CA, an intermediate CA (so the response can carry a chain), and a TSA certificate
with a critical ``extendedKeyUsage = timeStamping``. Each POST body (a DER TimeStampReq) is
answered by running ``openssl ts -reply``; calls are serialized because the serial file is not
safe to share.

``certs_chain=True`` sets ``certs = chain.pem`` in the TSA section, which makes openssl embed
the extra certificates in file order: a certificate SET that is not DER-sorted, which
``rfc3161-client`` cannot parse (docs/sealing.md).
"""

from __future__ import annotations

import datetime as dt
import http.server
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
{certs_line}
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = {ess_chain}
ess_cert_id_alg = sha256
"""


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "evidence-kit local TSA (demo and tests only)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey,
          ca: bool, tsa: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    if tsa:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    if issuer_key is not key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class TSA:
    folder: Path
    certs_chain: bool = False
    url: str = ""
    root_pem: Path = field(init=False)
    chain_pem: Path = field(init=False)
    requests: int = 0
    _server: http.server.ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        root_key = ec.generate_private_key(ec.SECP256R1())
        inter_key = ec.generate_private_key(ec.SECP256R1())
        tsa_key = ec.generate_private_key(ec.SECP256R1())
        root = _cert("Test Root CA", root_key, "Test Root CA", root_key, ca=True)
        inter = _cert("Test TSA Issuing CA", inter_key, "Test Root CA", root_key, ca=True)
        # Plain variant: the TSA certificate is issued by the root (the response embeds only it).
        # Chain variant: issued by an intermediate that the response embeds (with the root).
        if self.certs_chain:
            tsa = _cert("Test TSA", tsa_key, "Test TSA Issuing CA", inter_key, ca=False, tsa=True)
        else:
            tsa = _cert("Test TSA", tsa_key, "Test Root CA", root_key, ca=False, tsa=True)
        self.root_pem = self.folder / "root.pem"
        self.chain_pem = self.folder / "chain.pem"
        self.root_pem.write_bytes(_pem(root))
        # Order chosen to be the reverse of DER order so the SET is certainly unsorted.
        chain = sorted([_pem(inter), _pem(root)], key=lambda p: x509.load_pem_x509_certificate(p).public_bytes(
            serialization.Encoding.DER), reverse=True)
        self.chain_pem.write_bytes(b"".join(chain))
        (self.folder / "tsa.pem").write_bytes(_pem(tsa))
        (self.folder / "tsa.key").write_bytes(tsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (self.folder / "serial").write_text("01\n")
        certs_line = f"certs = {self.chain_pem}" if self.certs_chain else ""
        (self.folder / "tsa.cnf").write_text(CONFIG.format(
            dir=self.folder, certs_line=certs_line, ess_chain="yes" if self.certs_chain else "no"))

    def reply(self, query: bytes) -> bytes:
        with self._lock:
            self.requests += 1
            qpath = self.folder / "query.tsq"
            rpath = self.folder / "reply.tsr"
            qpath.write_bytes(query)
            rpath.unlink(missing_ok=True)
            subprocess.run(["openssl", "ts", "-reply", "-config", str(self.folder / "tsa.cnf"),
                            "-queryfile", str(qpath), "-out", str(rpath)],
                           check=True, capture_output=True, timeout=30)
            return rpath.read_bytes()

    def start(self) -> TSA:
        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                query = self.rfile.read(length)
                try:
                    body = tsa.reply(query)
                except subprocess.CalledProcessError:
                    self.send_error(400, "bad time-stamp query")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        threading.Thread(target=self._server.serve_forever, name="tsa", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
