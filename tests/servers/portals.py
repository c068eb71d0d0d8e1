"""Fixture portals on 127.0.0.1: local stand-ins for the login pages of each shipped web profile.

Each folder under tests/servers/portals/ reproduces one product's login form structure (field
names and ids, buttons, multi-step flow, frames, MFA step, error text, post-login marker) as
static HTML; the first line of each page says which product it stands in for. This module
serves them and plays the server side: it checks the password, a real TOTP code (pyotp), a
push approval the test grants out of band, or HTTP Basic auth.

Accounts (same on every portal): ``admin@contoso.example`` (password only),
``totp@contoso.example`` (password + TOTP where the product has an MFA step),
``push@contoso.example`` (password + push approval, Microsoft 365 only).
"""

from __future__ import annotations

import base64
import http.server
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import random_password

ROOT = Path(__file__).with_name("portals")

ADMIN = "admin@contoso.example"
TOTP_USER = "totp@contoso.example"
PUSH_USER = "push@contoso.example"


@dataclass(frozen=True)
class Product:
    key: str  # folder and URL prefix
    profile: str  # the shipped profile it exercises
    user_field: str
    password_field: str
    home: str  # page after login, relative to the product folder
    mfa: str | None = None  # "totp": mfa.html posts `mfa_field`; "inline": code + password in one field
    mfa_field: str = "otc"
    push: bool = False
    kmsi: bool = False  # "Stay signed in?" page before home
    basic_auth: bool = False
    aliases: dict[str, str] = field(default_factory=dict)  # URL path -> file


PRODUCTS: dict[str, Product] = {p.key: p for p in [
    Product("pfsense", "pfsense_web", "usernamefld", "passwordfld", "index.php.html"),
    Product("opnsense", "opnsense_web", "usernamefld", "passwordfld", "dashboard.html", mfa="inline"),
    Product("fortigate", "fortigate_web", "username", "secretkey", "ng/dashboard.html", mfa="totp",
            mfa_field="token_code"),
    Product("sonicwall", "sonicwall_web", "userName", "pwd", "main.html"),
    Product("unifi", "unifi_web", "username", "password", "network/default/dashboard.html", mfa="totp",
            mfa_field="token"),
    Product("synology", "synology_dsm_web", "username", "current-password", "home.html", mfa="totp",
            mfa_field="otp_code"),
    Product("mikrotik", "mikrotik_webfig", "name", "password", "webfig.html"),
    Product("wac", "windows_admin_center_web", "", "", "index.html", basic_auth=True),
    Product("m365", "microsoft_365_web", "loginfmt", "passwd", "home.html", mfa="totp", mfa_field="otc",
            push=True, kmsi=True),
    Product("cloudflare", "cloudflare_web", "email", "password", "home.html", mfa="totp",
            mfa_field="twofactor_token", aliases={"0123456789abcdef0123456789abcdef/home": "home.html"}),
    Product("godaddy", "godaddy_web", "username", "password", "products.html", mfa="totp", mfa_field="code"),
    Product("namecheap", "namecheap_web", "LoginUserName", "LoginPassword", "dashboard.html", mfa="totp",
            mfa_field="code"),
    Product("aws", "aws_console_web", "username", "password", "console.html", mfa="totp", mfa_field="mfacode"),
]}

HOME_REDIRECT = {"cloudflare": "0123456789abcdef0123456789abcdef/home"}


@dataclass
class PortalServer:
    base: str
    password: str
    totp_seed: str
    products: dict[str, Product]
    server: http.server.ThreadingHTTPServer
    sessions: dict[str, dict[str, object]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    posts: int = 0

    def url(self, key: str) -> str:
        return f"{self.base}/{key}/"

    def approve_pushes(self) -> int:
        """What the technician's phone does: approve every pending push."""
        with self.lock:
            n = 0
            for s in self.sessions.values():
                if s.get("stage") == "push":
                    s["approved"] = True
                    n += 1
            return n

    def secrets(self) -> list[str]:
        return [self.password, self.totp_seed]


def _handler(portal: PortalServer) -> type[http.server.BaseHTTPRequestHandler]:
    import pyotp

    totp = pyotp.TOTP(portal.totp_seed)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        # --- plumbing -------------------------------------------------------------------
        def send(self, code: int, body: bytes, ctype: str = "text/html; charset=utf-8",
                 headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def redirect(self, location: str, cookie: str | None = None) -> None:
            headers = {"Location": location}
            if cookie:
                headers["Set-Cookie"] = cookie
            self.send(303, b"", headers=headers)

        def session(self, key: str) -> tuple[str, dict[str, object]]:
            cookies = dict(
                c.strip().split("=", 1) for c in (self.headers.get("Cookie") or "").split(";") if "=" in c
            )
            sid = cookies.get(f"sid_{key}", "")
            with portal.lock:
                if sid not in portal.sessions:
                    sid = secrets.token_hex(8)
                    portal.sessions[sid] = {}
                return sid, portal.sessions[sid]

        def cookie(self, key: str, sid: str) -> str:
            return f"sid_{key}={sid}; Path=/{key}/; HttpOnly; SameSite=Lax"

        def form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length).decode()
            return {k: v[0] for k, v in parse_qs(data, keep_blank_values=True).items()}

        def split(self) -> tuple[Product | None, str, str]:
            parts = urlsplit(self.path)
            path = parts.path.lstrip("/")
            key, _, rest = path.partition("/")
            return portal.products.get(key), rest, parts.query

        def after_login(self, product: Product, sid: str, sess: dict[str, object]) -> None:
            if product.kmsi:
                sess["stage"] = "kmsi"
                self.redirect(f"/{product.key}/kmsi.html", self.cookie(product.key, sid))
                return
            sess["stage"] = "in"
            home = HOME_REDIRECT.get(product.key, product.home)
            self.redirect(f"/{product.key}/{home}", self.cookie(product.key, sid))

        # --- GET --------------------------------------------------------------------------
        def do_GET(self) -> None:
            if self.path.startswith("/hold"):
                portal.held.set()
                portal.release.wait(30)
                self.send(200, b"<html><body>held</body></html>")
                return
            product, rest, _query = self.split()
            if product is None:
                self.send(404, b"not found")
                return
            if product.basic_auth and not self.basic_ok():
                self.send(401, (ROOT / product.key / "401.html").read_bytes(),
                          headers={"WWW-Authenticate": 'Basic realm="Windows Admin Center"'})
                return
            sid, sess = self.session(product.key)
            if rest == "push-status":
                body = json.dumps({"approved": bool(sess.get("approved"))}).encode()
                if sess.get("approved") and sess.get("stage") == "push":
                    self.after_login(product, sid, sess)
                    return
                self.send(200, body, "application/json")
                return
            if rest == "kmsi-done" and sess.get("stage") == "kmsi":
                sess["stage"] = "in"
                self.redirect(f"/{product.key}/{HOME_REDIRECT.get(product.key, product.home)}")
                return
            file = product.aliases.get(rest) or rest or "index.html"
            logged_in = sess.get("stage") == "in" or product.basic_auth
            if (file == product.home or rest in product.aliases) and not logged_in:
                self.redirect(f"/{product.key}/", self.cookie(product.key, sid))
                return
            path = (ROOT / product.key / file).resolve()
            if not path.is_file() or ROOT not in path.parents:
                self.send(404, b"not found")
                return
            self.send(200, path.read_bytes(), headers={"Set-Cookie": self.cookie(product.key, sid)})

        def basic_ok(self) -> bool:
            auth = self.headers.get("Authorization") or ""
            if not auth.startswith("Basic "):
                return False
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            return user in (ADMIN, "CONTOSO\\admin") and pw == portal.password

        # --- POST -------------------------------------------------------------------------
        def do_POST(self) -> None:
            product, rest, _ = self.split()
            if product is None:
                self.send(404, b"not found")
                return
            portal.posts += 1
            sid, sess = self.session(product.key)
            form = self.form()
            if rest == "login":
                user = form.get(product.user_field, "")
                given = form.get(product.password_field, "")
                if product.mfa == "inline" and user == TOTP_USER:
                    ok = any(given == totp.at(time.time() + d) + portal.password for d in (-30, 0, 30))
                else:
                    ok = given == portal.password
                if user not in (ADMIN, TOTP_USER, PUSH_USER) or not ok:
                    self.redirect(f"/{product.key}/?error=1", self.cookie(product.key, sid))
                    return
                sess["user"] = user
                if user == TOTP_USER and product.mfa == "totp":
                    sess["stage"] = "mfa"
                    self.redirect(f"/{product.key}/mfa.html", self.cookie(product.key, sid))
                    return
                if user == PUSH_USER and product.push:
                    sess["stage"] = "push"
                    self.redirect(f"/{product.key}/push.html", self.cookie(product.key, sid))
                    return
                self.after_login(product, sid, sess)
                return
            if rest == "mfa" and sess.get("stage") == "mfa":
                code = form.get(product.mfa_field, "")
                if totp.verify(code, valid_window=1):
                    self.after_login(product, sid, sess)
                else:
                    self.redirect(f"/{product.key}/mfa.html?error=1")
                return
            self.send(400, b"unexpected post")

    return Handler


@pytest.fixture(scope="session")
def portals() -> Iterator[PortalServer]:
    import pyotp

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.daemon_threads = True
    portal = PortalServer(
        base=f"http://127.0.0.1:{server.server_address[1]}", password=random_password("Portal"),
        totp_seed=pyotp.random_base32(), products=PRODUCTS, server=server,
    )
    server.RequestHandlerClass = _handler(portal)
    thread = threading.Thread(target=server.serve_forever, name="fixture-portals", daemon=True)
    thread.start()
    try:
        yield portal
    finally:
        portal.release.set()
        server.shutdown()
        server.server_close()
