"""A short video of the logon, made from the frames already grabbed to watch the screen.

The frames are piped raw into the system ``ffmpeg`` (H.264 in MP4, one frame per poll), so a
recording costs no extra screen grabs and no frame is held in memory. A missing or failing
ffmpeg leaves ``ok`` false: the logon itself is not affected, and the caller records that the
video is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from evidence_kit.drivers.rdp.display import Frame

FFMPEG = "ffmpeg"


class Recorder:
    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = Path(path)
        self.width, self.height = width, height
        self.frames = 0
        self.error = ""
        self._proc: subprocess.Popen[bytes] | None = None
        if shutil.which(FFMPEG) is None:
            self.error = "ffmpeg not found (Debian package ffmpeg)"
            return
        self._log = open(self.path.with_suffix(".ffmpeg.log"), "wb")  # closed in close()
        self._proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr0",
             "-s", f"{width}x{height}", "-framerate", f"{fps:g}", "-i", "pipe:0", "-an", "-c:v", "libx264",
             "-preset", "veryfast", "-tune", "stillimage", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
             str(self.path)],
            stdin=subprocess.PIPE, stdout=self._log, stderr=self._log,
        )

    def add(self, frame: Frame) -> None:
        if self._proc is None or self._proc.stdin is None or self.error:
            return
        if (frame.width, frame.height) != (self.width, self.height):
            return
        try:
            self._proc.stdin.write(frame.bgrx)
            self.frames += 1
        except (BrokenPipeError, OSError) as exc:
            self.error = f"ffmpeg stopped taking frames: {exc}"

    def close(self, timeout: float = 30.0) -> None:
        if self._proc is None:
            return
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
            rc = -1
        self._log.close()
        if rc != 0 and not self.error:
            self.error = f"ffmpeg exited with {rc}"
        self._proc = None

    @property
    def ok(self) -> bool:
        return not self.error and self.frames > 0 and self.path.exists() and self.path.stat().st_size > 0
