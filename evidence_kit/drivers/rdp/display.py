"""A private X display per connection, and frames grabbed from it.

FreeRDP's X11 client needs a display; each connection gets its own ``Xvfb`` so that what is
captured is that session and nothing else, and so that connections run side by side. The
display is private: it listens on no TCP port and admits only holders of a fresh
MIT-MAGIC-COOKIE (an Xauthority file in the connection's work folder), so another local user
cannot watch the remote desktop. ``Xvfb -displayfd`` picks a free display number itself and
writes it to a *file* (a pipe fails intermittently with "Cannot write display number to fd").

Frames come from ``XGetImage`` on the root window through python-xlib (about 18 ms for
1280x1024 here, against 54 ms for ``xwd`` and 160 ms for a one-frame ``ffmpeg -f x11grab``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import secrets
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.errors import EvidenceKitError

XVFB = "Xvfb"
FAMILY_LOCAL = 256
FAMILY_WILD = 65535
COOKIE_NAME = b"MIT-MAGIC-COOKIE-1"
# python-xlib finds the cookie file through $XAUTHORITY only: connections made from several
# threads at once must not see each other's value.
_XAUTH_ENV = threading.Lock()


class DisplayError(EvidenceKitError):
    """The private X display could not be started or read (Xvfb missing, no free display...)."""


@dataclass(frozen=True)
class Frame:
    """One grab of the whole screen: raw BGRX pixels, as the X server holds them."""

    width: int
    height: int
    bgrx: bytes = field(repr=False)
    at: float  # time.monotonic() of the grab

    @functools.cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.bgrx).hexdigest()

    def image(self) -> Any:
        from PIL import Image

        return Image.frombytes("RGB", (self.width, self.height), self.bgrx, "raw", "BGRX")

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image().save(out, format="PNG", optimize=False, compress_level=6)
        return out.getvalue()

    def colours(self, limit: int = 8) -> list[tuple[float, tuple[int, int, int]]]:
        """The most frequent colours as ``(share of the screen, (r, g, b))``, most frequent first.

        Counted on a 1/4-scale copy (nearest neighbour, so no blended colours appear): cheap
        enough to run on every frame.
        """
        return self._colour_shares[:limit]

    @functools.cached_property
    def _colour_shares(self) -> list[tuple[float, tuple[int, int, int]]]:
        # Counted once per frame, whoever asks (blank, the xrdp-window test, the screenshot).
        small = self.image().resize((max(1, self.width // 4), max(1, self.height // 4)), 0)
        total = small.width * small.height
        counts = small.getcolors(total) or []
        counts.sort(key=lambda c: c[0], reverse=True)
        return [(n / total, rgb) for n, rgb in counts]

    @property
    def blank(self) -> bool:
        """Nothing painted: (almost) the whole screen one colour, and that colour black."""
        top = self.colours(1)
        return not top or (top[0][0] > 0.995 and max(top[0][1]) < 16)


def _xauth_entry(family: int, address: bytes, number: bytes, cookie: bytes) -> bytes:
    def counted(b: bytes) -> bytes:
        return struct.pack(">H", len(b)) + b

    return struct.pack(">H", family) + counted(address) + counted(number) + counted(COOKIE_NAME) + counted(cookie)


def write_xauthority(path: Path, cookie: bytes) -> None:
    """An Xauthority file valid for any display number on this host.

    Two entries with the same cookie: FamilyLocal + host name with an empty display number
    (what python-xlib looks up) and FamilyWild (what libXau falls back to).
    """
    host = socket.gethostname().encode()
    data = _xauth_entry(FAMILY_LOCAL, host, b"", cookie) + _xauth_entry(FAMILY_WILD, b"", b"", cookie)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class PrivateDisplay:
    """``with PrivateDisplay(workdir, 1280, 1024) as disp: disp.grab()``.

    ``env()`` is what a client program needs (``DISPLAY``, ``XAUTHORITY``). Stopping ends
    Xvfb by its PID and removes nothing else; the work folder is the caller's.
    """

    def __init__(self, workdir: Path, width: int = 1280, height: int = 1024, depth: int = 24,
                 start_timeout: float = 10.0) -> None:
        self.workdir = Path(workdir)
        self.width, self.height, self.depth = width, height, depth
        self.start_timeout = start_timeout
        self.xauthority = self.workdir / "Xauthority"
        self.display = ""
        self.started_in = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._x: Any = None

    def __enter__(self) -> PrivateDisplay:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display, "XAUTHORITY": str(self.xauthority)}

    def start(self) -> None:
        t0 = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        write_xauthority(self.xauthority, secrets.token_bytes(16))
        number_file = self.workdir / "display-number"
        log = self.workdir / "xvfb.log"
        with open(number_file, "wb") as fd_file, open(log, "wb") as log_file:
            try:
                self._proc = subprocess.Popen(
                    [XVFB, "-displayfd", str(fd_file.fileno()), "-screen", "0",
                     f"{self.width}x{self.height}x{self.depth}", "-nolisten", "tcp", "-auth", str(self.xauthority),
                     "-noreset", "-nocursor"],
                    stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                    pass_fds=(fd_file.fileno(),), start_new_session=True,
                )
            except FileNotFoundError:
                raise DisplayError("Xvfb not found: install the Debian package xvfb")
        deadline = t0 + self.start_timeout
        while time.monotonic() < deadline:
            text = number_file.read_text()
            if text.endswith("\n") and text.strip().isdigit():  # written whole, newline last
                self.display = f":{text.strip()}"
                break
            if self._proc.poll() is not None:
                raise DisplayError(f"Xvfb exited ({self._proc.returncode}): {log.read_text(errors='replace')[-300:]}")
            time.sleep(0.02)
        else:
            raise DisplayError(f"Xvfb did not report a display number within {self.start_timeout:g} s")
        self._connect()
        self.started_in = time.monotonic() - t0

    def _connect(self) -> None:
        from Xlib import display as xdisplay

        with _XAUTH_ENV:
            old = os.environ.get("XAUTHORITY")
            os.environ["XAUTHORITY"] = str(self.xauthority)
            try:
                self._x = xdisplay.Display(self.display)
            except Exception as exc:
                raise DisplayError(f"cannot open the private display {self.display}: {exc}")
            finally:
                if old is None:
                    os.environ.pop("XAUTHORITY", None)
                else:
                    os.environ["XAUTHORITY"] = old

    def grab(self) -> Frame:
        from Xlib import X

        if self._x is None:
            raise DisplayError("the display is not started")
        root = self._x.screen().root
        reply = root.get_image(0, 0, self.width, self.height, X.ZPixmap, 0xFFFFFFFF)
        data = reply.data if isinstance(reply.data, bytes) else bytes(reply.data)
        return Frame(self.width, self.height, data, time.monotonic())

    def close_windows(self, wm_class: str) -> int:
        """Ask every top-level window of ``wm_class`` to close, as a window manager would.

        Sends ``WM_DELETE_WINDOW``: the client ends its connection its own way (xfreerdp
        disconnects and exits), no signal needed. Returns how many windows were asked.
        """
        from Xlib import X
        from Xlib.protocol import event

        if self._x is None:
            return 0
        proto = self._x.intern_atom("WM_PROTOCOLS")
        delete = self._x.intern_atom("WM_DELETE_WINDOW")
        asked = 0
        for win in self._x.screen().root.query_tree().children:
            try:
                cls = win.get_wm_class()
            except Exception:  # noqa: S112 - a window that vanished meanwhile
                continue
            if cls and wm_class in cls:
                msg = event.ClientMessage(window=win, client_type=proto, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
                win.send_event(msg, event_mask=X.NoEventMask)
                asked += 1
        self._x.flush()
        return asked

    def stop(self) -> None:
        if self._x is not None:
            try:
                self._x.close()
            except Exception:  # noqa: S110 - the server may be gone already
                pass
            self._x = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(5)
            self._proc = None
