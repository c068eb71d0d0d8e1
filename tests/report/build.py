"""Cases for report tests, made with the real case API and (in conftest) real captures.

Everything hostile that a device or a page could send is planted here: a ``<script>`` and an
``<img onerror>`` in a banner, a page title, a URL, a certificate subject and a failure
detail; ANSI colours, cursor movement, carriage returns, backspaces and a title-setting OSC in
a terminal session.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from evidence_kit.case.case import Case, CaseDetails
from evidence_kit.case.journal import utc_now
from evidence_kit.case.outcome import Outcome
from evidence_kit.case.screenshots import StampInfo, stamp_png
from evidence_kit.drivers.terminal import TerminalRecorder
from evidence_kit.secrets import Secret
from tests.helpers import free_port

# A real listener (conftest's ``canary``) that hostile content points at: any hit means a
# report made a request.
CANARY_PORT = free_port()
CANARY = f"http://127.0.0.1:{CANARY_PORT}"

HOSTILE_TITLE = f"Login <script>alert('title')</script><img src=x onerror=\"fetch('{CANARY}/title')\">"
HOSTILE_URL = f"https://portal.example/login?next=<script>alert('url')</script><img src='{CANARY}/url.png'>"
HOSTILE_DETAIL = "Wrong user name or password <img src=x onerror=alert('detail')>"
HOSTILE_CN = "<script>alert('cert')</script>"
MAGENTA = (255, 0, 255)

# Terminal output and the lines a reader must see for it.
ANSI_OUTPUT = [
    b"\x1b[1;32mGREEN-OK\x1b[0m status \x1b[31mred\x1b[0m\r\n",
    b"Loading: 10%\rLoading: 55%\rLoading: 100%\r\n",
    b"abcdef\x1b[3Dxyz\r\n",
    b"typo\b\bpo-fixed\r\n",
    b"old line\r\n\x1b[1A\x1b[2Knew line\r\n",
    b"\x1b]0;pwned-title\x07\x1b[?2004hswitch#",
]
ANSI_EXPECT = ["GREEN-OK status red", "Loading: 100%", "abcxyz", "typo-fixed", "new line", "switch#"]
ANSI_ABSENT = ["Loading: 10%", "abcdef", "old line", "pwned-title", "[1;32m", "[?2004h"]


def portal_png(title: str) -> bytes:
    """A real Chromium screenshot of a login page showing ``title`` as text and a magenta block."""
    from evidence_kit.browser import sync_browser

    with sync_browser() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 500})
        page.set_content(
            "<html><body style='margin:0;font:20px sans-serif'>"
            "<div style='background:rgb(255,0,255);height:300px'></div><p id=t></p></body></html>")
        page.locator("#t").evaluate("(el, t) => el.textContent = t", title)
        png = page.screenshot()
        page.close()
    return bytes(png)


def hostile_certificate() -> tuple[bytes, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTILE_CN)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("portal.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), cert.fingerprint(hashes.SHA256()).hex()


def add_web_target(case: Case, png: bytes, password: str, name: str = "web-portal", shots: int = 1,
                   outcome: Outcome = Outcome.AUTH_FAILED) -> None:
    """A web target as the web driver journals it: TLS chain, navigation, screenshots (original +
    stamped copy), commitment, and a failed login with its error."""
    pem, leaf = hostile_certificate()
    with case.target(name, kind="web", profile="cockpit_web", address="https://127.0.0.1:9090/",
                     secrets={"password": Secret(password, "test")}) as s:
        s.add_artifact("certificate-chain.pem", pem, "certificate_chain", "application/x-pem-file", False,
                       leaf_sha256=leaf)
        s.event("tls", {"chain": [{"subject": f"CN={HOSTILE_CN}", "issuer": f"CN={HOSTILE_CN}"}], "verified": False})
        s.set_identity(tls_leaf_sha256=leaf, tls_subject=f"CN={HOSTILE_CN}", title=HOSTILE_TITLE,
                       final_url=HOSTILE_URL)
        s.event("navigation", {"final_url": HOSTILE_URL, "title": HOSTILE_TITLE, "status": 200})
        for seq in range(1, shots + 1):
            taken = utc_now()
            rec = s.add_artifact(f"{seq:02d}-login.png", png, "screenshot", "image/png", False,
                                 label="login", url=HOSTILE_URL, seq=seq, taken=taken)
            stamped = stamp_png(png, StampInfo(taken, case.case_id, name, HOSTILE_URL, seq, rec.sha256))
            s.add_artifact(f"{seq:02d}-login.stamped.png", stamped, "screenshot_stamped", "image/png", False,
                           original_sha256=rec.sha256, original=rec.path, label="login", seq=seq)
        s.event("step_failed", {"step": "wait_success", "error": HOSTILE_DETAIL})
        s.finish(outcome, HOSTILE_DETAIL)


def add_ansi_target(case: Case, banner: bytes) -> None:
    """An SSH session recorded with the real TerminalRecorder: colours, cursor moves, CR, BS."""
    with case.target("ansi-switch", kind="ssh", profile="cisco_ios", address="127.0.0.1:2222") as s:
        s.add_artifact("banner.txt", banner + f"<img src='{CANARY}/banner.png'>\n".encode(), kind="banner",
                       media_type="text/plain")
        with s.artifact("session.cast", kind="asciicast", media_type="application/x-asciicast") as cast, \
                s.artifact("session.txt", kind="transcript", media_type="text/plain") as text:
            rec = TerminalRecorder(cast, text, s.redactor, 80, 24, "ansi-switch <script>alert('cast')</script>")
            rec.marker("login")
            for chunk in ANSI_OUTPUT:
                rec.output(chunk)
            rec.close()
        s.set_identity(host_key="SHA256:synthetic", account="admin", mode="privilege_exec")
        s.finish(Outcome.LOGIN_OK, "reached mode 'privilege_exec'")


def synthetic_case(root: Path, authorization: Path | None = None) -> Case:
    return Case.open_for_capture(root, CaseDetails(
        client="Contoso <Ltd> & Co", provider="Example MSP", technician="J. Doe", authorization=authorization,
    ), {"tool": {"name": "evidence-kit", "version": "test"}, "dependencies": {"pillow": "x"}})


def facts() -> dict[str, Any]:
    return {"tool": {"name": "evidence-kit", "version": "test"}}
