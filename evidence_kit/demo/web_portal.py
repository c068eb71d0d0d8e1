"""The demo's local web admin portal, served from inside this process on 127.0.0.1.

A login form, a wrong-password message, a TOTP second step (a real code, checked with
pyotp) and a dashboard: enough for ``evidence-kit demo`` to show web capture end to end with
the bundled ``demo_portal_web`` profile.

    with start_demo_portal() as portal:
        portal.url, portal.username, portal.password, portal.totp_seed, portal.wrong_password
"""

from __future__ import annotations

import html
import http.server
import secrets
import threading
from types import TracebackType
from urllib.parse import parse_qs

PROFILE = "demo_portal_web"

_STYLE = (
    "body{font-family:sans-serif;background:#eef1f5;margin:0}"
    ".box{width:360px;margin:80px auto;background:#fff;padding:24px 28px;border-radius:6px;"
    "box-shadow:0 2px 8px #0002}h1{font-size:20px;margin:0 0 16px}"
    "label{display:block;margin-top:10px;font-size:13px}input{width:100%;padding:6px;box-sizing:border-box}"
    "button{margin-top:16px;padding:8px 18px}.error{color:#b00020;margin-top:12px}"
    "header{background:#234;color:#fff;padding:10px 20px}main{padding:20px}"
)


def _page(title: str, body: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    ).encode()


def _login(error: str = "") -> bytes:
    err = f"<div id='error' class='error' role='alert'>{html.escape(error)}</div>" if error else ""
    return _page("Demo Router - Sign in", f"""<div class='box'><h1>Demo Router administration</h1>
<form method='post' action='/login'>
<label for='username'>User name</label><input id='username' name='username' autocomplete='username'>
<label for='password'>Password</label><input id='password' name='password' type='password'
 autocomplete='current-password'>
<button id='login' type='submit'>Sign in</button></form>{err}</div>""")


def _otp(error: str = "") -> bytes:
    err = f"<div id='otp-error' class='error' role='alert'>{html.escape(error)}</div>" if error else ""
    return _page("Demo Router - Verification", f"""<div class='box'><h1>Two-step verification</h1>
<form method='post' action='/otp'>
<label for='otp'>Code from your authenticator app</label>
<input id='otp' name='otp' inputmode='numeric' autocomplete='one-time-code'>
<button id='verify' type='submit'>Verify</button></form>{err}</div>""")


def _dashboard(user: str) -> bytes:
    return _page("Demo Router - Dashboard", f"""<header>Demo Router administration
<span id='user' style='float:right'>Signed in as {html.escape(user)} (administrator)</span></header>
<main id='dashboard'><h2>Dashboard</h2><p>Firmware 1.0 (demo) - uptime 42 days - 4 interfaces up</p></main>""")


class DemoPortal:
    """A running portal; use as a context manager (stops the server on exit)."""

    def __init__(self) -> None:
        import pyotp  # lazy: the demo is the only user

        self.username = "admin"
        self.password = f"Demo-{secrets.token_urlsafe(10)}"
        self.wrong_password = self.password + "-wrong"
        self.totp_seed = pyotp.random_base32()
        self._totp = pyotp.TOTP(self.totp_seed)
        self._sessions: dict[str, str] = {}  # session id -> "otp" or "in"
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-web-portal", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> DemoPortal:
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DemoPortal:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        portal = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet: the demo prints its own lines
                pass

            def _send(self, body: bytes, code: int = 200, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, where: str, sid: str | None = None) -> None:
                headers = {"Location": where}
                if sid:
                    headers["Set-Cookie"] = f"demo_sid={sid}; Path=/; HttpOnly; SameSite=Strict"
                self._send(b"", 303, headers)

            def _state(self) -> tuple[str | None, str | None]:
                for part in (self.headers.get("Cookie") or "").split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == "demo_sid":
                        with portal._lock:
                            return value, portal._sessions.get(value)
                return None, None

            def _form(self) -> dict[str, str]:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
                return {k: v[0] for k, v in parse_qs(data, keep_blank_values=True).items()}

            def do_GET(self) -> None:
                _, state = self._state()
                if self.path.startswith("/dashboard"):
                    if state == "in":
                        self._send(_dashboard(portal.username))
                    else:
                        self._redirect("/")
                elif self.path.startswith("/otp") and state == "otp":
                    self._send(_otp())
                elif self.path in ("/", "/index.html") or self.path.startswith("/?"):
                    self._send(_login())
                else:
                    self._send(_page("Not found", "<p>Not found</p>"), 404)

            def do_POST(self) -> None:
                form = self._form()
                sid, state = self._state()
                if self.path == "/login":
                    if form.get("username") == portal.username and form.get("password") == portal.password:
                        sid = secrets.token_hex(16)
                        with portal._lock:
                            portal._sessions[sid] = "otp"
                        self._redirect("/otp", sid)
                    else:
                        self._send(_login("Wrong user name or password"), 200)
                elif self.path == "/otp" and sid and state == "otp":
                    if portal._totp.verify(form.get("otp", ""), valid_window=1):
                        with portal._lock:
                            portal._sessions[sid] = "in"
                        self._redirect("/dashboard")
                    else:
                        self._send(_otp("That code is not valid"), 200)
                else:
                    self._redirect("/")

        return Handler


def start_demo_portal() -> DemoPortal:
    """Start the portal on a free 127.0.0.1 port. Use as ``with start_demo_portal() as portal:``."""
    return DemoPortal().start()
