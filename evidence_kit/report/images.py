"""Images for the report: how one is embedded (:class:`ImageRef`), thumbnails (Pillow) and a
first-page preview of the authorization.

Full screenshots are embedded byte for byte as archived (a reader can hash the data: URI's
bytes and find the appendix's SHA-256); only derived pictures (thumbnails, the authorization
preview) are re-encoded, and the page says so.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.errors import EvidenceKitError

THUMB_WIDTH = 240
PREVIEW_WIDTH = 900
MAX_PIXELS = 60_000_000  # refuse decompression bombs before decoding
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class ImageProblem(EvidenceKitError):
    """An image that cannot be drawn (broken, too large). Caught where it is drawn, so the page
    names the problem instead of the report failing; never leaves this package."""


@dataclass
class ImageRef:
    """An image file embedded as a data: URI (bytes as archived, or a derived thumbnail)."""

    path: Path
    media_type: str = "image/png"
    data: bytes | None = None  # set for derived images (thumbnails, previews)
    width: int | None = None
    height: int | None = None
    compact: bool = False  # drawn as a lossless WebP of the same pixels (a smaller report)

    @property
    def exact(self) -> bool:
        """The bytes embedded are the archived file's bytes."""
        return self.data is None and not self.compact

    def prepare(self) -> None:
        """Re-encode a compact image once (the PDF writes the page twice)."""
        if self.compact and self.data is None:
            self.data, self.media_type = lossless_webp(self.path), "image/webp"

    def data_uri(self) -> str:
        self.prepare()
        raw = self.data if self.data is not None else self.path.read_bytes()
        return f"data:{self.media_type};base64,{base64.b64encode(raw).decode('ascii')}"


def sniff(path: Path) -> str | None:
    """The media type of a PNG or JPEG file by its first bytes, else None (never embedded)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    for magic, media in SIGNATURES.items():
        if head.startswith(magic):
            return media
    return None


def _open(source: Path | bytes) -> Any:
    from PIL import Image

    try:
        img = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        if img.width * img.height > MAX_PIXELS:
            raise ImageProblem(f"{img.width}x{img.height} is too large to draw")
        img.load()
        return img
    except ImageProblem:
        raise
    except Exception as exc:  # Pillow raises many types for broken files
        raise ImageProblem(f"not a readable image ({type(exc).__name__})")


def _jpeg(img: Any, width: int) -> ImageRef:
    img = img.convert("RGB")
    if img.width > width:
        # thumbnail() shrinks by whole factors first (reducing_gap): several times faster
        img.thumbnail((width, max(1, round(img.height * width / img.width))), reducing_gap=2.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=82, optimize=True)
    return ImageRef(Path("derived.jpg"), "image/jpeg", buf.getvalue(), img.width, img.height)


def lossless_webp(path: Path) -> bytes:
    """The same pixels as a lossless WebP: about a third of a screenshot PNG's size (low effort: 50 ms)."""
    with _open(path) as img:
        buf = io.BytesIO()
        # method/quality are effort for lossless WebP: 1/50 is ~50 ms a screenshot, ~30% of the PNG
        rgb = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
        rgb.save(buf, "WEBP", lossless=True, method=1, quality=50)
        return buf.getvalue()


def thumbnail(path: Path, width: int = THUMB_WIDTH) -> ImageRef:
    """A small JPEG of an image (for the summary table)."""
    with _open(path) as img:
        return _jpeg(img, width)


def document_preview(path: Path) -> tuple[ImageRef | None, str]:
    """The first page of a PDF (through poppler's pdftoppm, if installed) or an image."""
    media = sniff(path)
    if media is not None:
        try:
            with _open(path) as img:
                return _jpeg(img, PREVIEW_WIDTH), "image (re-encoded for display)"
        except ImageProblem as exc:
            return None, str(exc)
    try:
        with open(path, "rb") as fh:
            head = fh.read(5)
    except OSError as exc:
        return None, f"cannot read ({exc.strerror or exc})"
    if head != b"%PDF-":
        return None, "not a PDF or image: no preview"
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None, "first page not shown: pdftoppm (poppler-utils) is not installed"
    with tempfile.TemporaryDirectory(prefix="evidence-kit-auth-") as tmp:
        out = Path(tmp) / "page"
        try:
            subprocess.run([tool, "-png", "-f", "1", "-l", "1", "-scale-to", str(PREVIEW_WIDTH), str(path), str(out)],
                           check=True, capture_output=True, timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            return None, f"first page could not be drawn ({type(exc).__name__})"
        pages = sorted(Path(tmp).glob("page*.png"))
        if not pages:
            return None, "first page could not be drawn"
        try:
            with _open(pages[0].read_bytes()) as img:
                return _jpeg(img, PREVIEW_WIDTH), "first page of the PDF (drawn by pdftoppm)"
        except ImageProblem as exc:
            return None, str(exc)
