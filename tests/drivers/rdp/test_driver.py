"""The RDP driver through the real capture path: real xrdp (TLS) and freerdp-shadow (NLA) servers.

One capture run (inventory YAML, a profile folder, ``env:`` secrets) covers every target below;
the tests read its case folder. The screenshots are read back as a person would: their colours,
and their text through tesseract (the desktop's known words must be on it; no secret may be).
A second run is stopped with an interrupt while a logon waits, as Ctrl-C does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from evidence_kit.capture import Progress, RunOptions, capture
from evidence_kit.case.journal import check_journal, read_entries
from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.tls import colon_form
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.secrets import SecretResolver
from tests.helpers import CaptureRun, assert_no_secrets
from tests.servers.rdp_common import descendants

WIDTH, HEIGHT = 1024, 768
PROFILE = {"kind": "rdp", "width": WIDTH, "height": HEIGHT, "timeouts": {"connect": 20, "logon": 60}}
PROFILES = {"test_rdp": {}, "test_rdp_video": {"record_video": True}, "test_rdp_slow": {"settle": 90}}


@dataclass
class RdpRun(CaptureRun):
    RECORD = "rdp-record.json"

    server_logs: dict[str, str] = field(kw_only=True)  # what each server logged during the run

    def screenshots(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events(name, "artifact_added") if e["data"]["kind"] == "screenshot"]


def profile_dir(root: Path) -> Path:
    folder = root / "profiles"
    folder.mkdir()
    for name, extra in PROFILES.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, **PROFILE, **extra}))
    return folder


def inventory(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({
        "case": {"client": "Contoso Ltd", "provider": "Example MSP", "technician": "Test Runner"},
        "targets": rows}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def rdp_run(xrdp_server, rdp_shadow, tmp_path_factory: pytest.TempPathFactory) -> RdpRun:
    work = tmp_path_factory.mktemp("rdp-capture")
    env: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    wrong = {"xrdp": "Wrong-" + xrdp_server.account("plain").password[::-1],
             "shadow": "Wrong-" + rdp_shadow.account("plain").password[::-1]}

    def add(name: str, server: Any, username: str, password: str, profile: str = "test_rdp", **extra: Any) -> None:
        var = f"EKT_RDP_{name.upper().replace('-', '_')}"
        env[var] = password
        rows.append({"name": name, "profile": profile, "host": server.host, "port": server.port,
                     "username": username, "password": f"env:{var}", **extra})

    x_admin, x_plain = xrdp_server.account("admin"), xrdp_server.account("plain")
    s_admin, s_plain = rdp_shadow.account("admin"), rdp_shadow.account("plain")
    add("xrdp-admin", xrdp_server, x_admin.username, x_admin.password, "test_rdp_video", allow_self_signed=True)
    add("xrdp-wrong", xrdp_server, x_plain.username, wrong["xrdp"], allow_self_signed=True)
    # Nothing-sent targets use user names no other target sends, so the server logs can show it.
    add("xrdp-pin-mismatch", xrdp_server, "ekt_nosend_pin", x_plain.password, certificate="ab" * 32)
    add("xrdp-untrusted", xrdp_server, "ekt_nosend_trust", x_plain.password)
    add("xrdp-nla-required", xrdp_server, "ekt_nosend_nla", x_plain.password, security="nla", allow_self_signed=True)
    add("shadow-admin-pinned", rdp_shadow, f"{s_admin.domain}\\{s_admin.username}", s_admin.password,
        certificate=colon_form(rdp_shadow.cert_sha256))
    add("shadow-upn", rdp_shadow, rdp_shadow.account("upn").username, rdp_shadow.account("upn").password,
        allow_self_signed=True)
    add("shadow-wrong", rdp_shadow, s_plain.username, wrong["shadow"], allow_self_signed=True)
    add("shadow-pin-mismatch", rdp_shadow, "ekt_nosend_spin", s_plain.password, certificate="cd" * 32)
    add("shadow-tls-only", rdp_shadow, "ekt_nosend_tls", s_plain.password, security="tls", allow_self_signed=True)
    add("closed", xrdp_server, "nobody", "irrelevant-pw-1", port=xrdp_server.closed_port, allow_self_signed=True)
    add("silent", xrdp_server, "nobody", "irrelevant-pw-1", port=xrdp_server.silent_port, allow_self_signed=True,
        timeouts={"connect": 2})
    inv = load_inventory(inventory(work / "inventory.yaml", rows), ProfileRegistry([profile_dir(work)], use_env=False))
    x_mark, s_mark = xrdp_server.log_mark(), rdp_shadow.log_mark()
    report = capture(inv, work / "case", SecretResolver(environ=env), RunOptions(concurrency=3))
    time.sleep(0.5)  # the servers' last log lines
    logs = {"xrdp": xrdp_server.log_since(x_mark), "shadow": rdp_shadow.log_since(s_mark)}
    return RdpRun(report, work / "case", [*xrdp_server.secrets(), *rdp_shadow.secrets(), *wrong.values()],
                  server_logs=logs)


def ocr(png: Path) -> str:
    """The text tesseract reads on ``png`` (grey first: it reads nothing on some RGB screenshots)."""
    if not shutil.which("tesseract"):
        pytest.fail("tesseract is needed to read the screenshots (apt-get install tesseract-ocr)")
    with tempfile.TemporaryDirectory(prefix="ekt-ocr-") as work, Image.open(png) as image:
        grey = Path(work) / "grey.png"
        image.convert("L").save(grey)
        out = subprocess.run(["tesseract", str(grey), "-", "--psm", "11"], capture_output=True, text=True,
                             timeout=120)
    return out.stdout


def dominant(png: Path) -> tuple[float, tuple[int, int, int]]:
    with Image.open(png) as image:
        small = image.convert("RGB").resize((image.width // 4, image.height // 4), 0)
    count, rgb = max(small.getcolors(small.width * small.height) or [(0, (0, 0, 0))])
    return count / (small.width * small.height), rgb


def test_no_secret_anywhere_in_the_case_nor_on_any_screenshot(rdp_run: RdpRun, tmp_path: Path) -> None:
    assert check_journal(rdp_run.root / "journal.jsonl").ok
    assert_no_secrets(rdp_run.root, rdp_run.secrets)
    pngs = sorted(rdp_run.root.glob("artifacts/*/run001/*.png"))
    assert len(pngs) >= 6  # desktops and failure screens, each with its stamped copy
    for png in pngs:  # a screenshot's text is what a reader sees: no secret may be in it either
        text = ocr(png)
        (tmp_path / f"{png.parent.parent.name}-{png.stem}.txt").write_text(text + "\n" + "".join(text.split()))
    assert_no_secrets(tmp_path, rdp_run.secrets)


def test_xrdp_desktop_screenshot_shows_the_users_desktop(rdp_run: RdpRun, xrdp_server) -> None:
    admin = xrdp_server.account("admin")
    result = rdp_run.result("xrdp-admin")
    assert result.outcome is Outcome.LOGIN_OK, result.detail
    assert f"logged on as {admin.username} over TLS without NLA" in result.detail
    assert result.identity["security"] == "tls" and result.identity["certificate_sha256"] == xrdp_server.cert_sha256
    shots = rdp_run.screenshots("xrdp-admin")
    assert [s["data"]["label"] for s in shots] == ["desktop"]
    original = rdp_run.root / shots[0]["artifact"]["path"]
    share, rgb = dominant(original)
    assert rgb == admin.rgb and share > 0.6  # the user's own desktop, not black or half-painted
    assert admin.text in ocr(original).replace(" ", "")  # the window with the known words is on it
    stamped = original.with_name(original.name.replace(".png", ".stamped.png"))
    with Image.open(original) as a, Image.open(stamped) as b:
        assert b.width == a.width == WIDTH and b.height > a.height == HEIGHT
    assert "xrdp-admin" in ocr(stamped)  # the band names the target
    logon = rdp_run.events("xrdp-admin", "rdp_logon")[0]["data"]
    assert logon["outcome"] == "login_ok" and "clipboard_ready" in logon["signals"]
    assert f"username {admin.username}" in rdp_run.server_logs["xrdp"]


def test_xrdp_logon_video_and_client_log_are_kept(rdp_run: RdpRun, xrdp_server) -> None:
    folder = rdp_run.folder("xrdp-admin")
    video = folder / "logon.mp4"
    assert video.read_bytes()[4:8] == b"ftyp"
    frames = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                             "stream=nb_read_frames", "-of", "csv=p=0", str(video)], capture_output=True, text=True)
    assert int(frames.stdout.strip()) > 4
    log = (folder / "freerdp.log").read_text()
    assert "CONNECTION_STATE_ACTIVE" in log and "[DEBUG][com.freerdp.core.connection]" in log
    assert (folder / "freerdp-console.txt").exists()
    kinds = {e["data"]["kind"] for e in rdp_run.events("xrdp-admin", "artifact_added")}
    assert {"certificate_chain", "screenshot", "screenshot_stamped", "video", "rdp_client_log", "rdp_record"} <= kinds
    record = rdp_run.record("xrdp-admin")
    assert record["negotiation"]["security"] == "tls" and record["tls"]["trust"]["basis"] == "allow_self_signed"
    assert record["request"]["cert_sha256"] == xrdp_server.cert_sha256 and "password" not in json.dumps(record)
    assert record["logon"]["client"].startswith("This is FreeRDP version 2.")


def test_shadow_nla_logon_with_pinned_certificate(rdp_run: RdpRun, rdp_shadow) -> None:
    admin = rdp_shadow.account("admin")
    result = rdp_run.result("shadow-admin-pinned")
    assert result.outcome is Outcome.LOGIN_OK, result.detail
    assert f"{admin.domain}\\{admin.username} over NLA (CredSSP)" in result.detail
    assert result.identity["security"] == "nla" and result.identity["account"] == f"{admin.domain}\\{admin.username}"
    assert rdp_run.events("shadow-admin-pinned", "tls")[0]["data"]["trust"]["basis"] == "pinned"
    original = rdp_run.root / rdp_run.screenshots("shadow-admin-pinned")[0]["artifact"]["path"]
    share, rgb = dominant(original)
    assert rgb == admin.rgb and share > 0.9
    assert rdp_shadow.text in ocr(original).replace(" ", "")


def test_a_user_principal_name_is_sent_whole_and_logs_on(rdp_run: RdpRun, rdp_shadow) -> None:
    upn = rdp_shadow.account("upn").username
    result = rdp_run.result("shadow-upn")
    assert result.outcome is Outcome.LOGIN_OK, result.detail
    assert result.identity["account"] == upn and f"/u:{upn}" in rdp_run.record("shadow-upn")["logon"]["command"]


@pytest.mark.parametrize(("name", "words"), [
    ("xrdp-wrong", "kept its own logon screen up"),
    ("shadow-wrong", "closed the connection during NLA"),
])
def test_wrong_password_is_auth_failed_in_words(rdp_run: RdpRun, name: str, words: str) -> None:
    result = rdp_run.result(name)
    assert result.outcome is Outcome.AUTH_FAILED, result.detail
    assert "refused" in result.detail and words in result.detail


def test_xrdp_wrong_password_keeps_the_failure_screen(rdp_run: RdpRun, xrdp_server) -> None:
    assert [s["data"]["label"] for s in rdp_run.screenshots("xrdp-wrong")] == ["final"]
    assert f"AUTHFAIL: user={xrdp_server.account('plain').username}" in rdp_run.server_logs["xrdp"]


@pytest.mark.parametrize(("name", "outcome", "basis"), [
    ("xrdp-pin-mismatch", Outcome.CERTIFICATE_MISMATCH, "pin_mismatch"),
    ("xrdp-untrusted", Outcome.CERTIFICATE_MISMATCH, "untrusted"),
    ("shadow-pin-mismatch", Outcome.CERTIFICATE_MISMATCH, "pin_mismatch"),
    ("xrdp-nla-required", Outcome.ERROR, "allow_self_signed"),
])
def test_nothing_is_sent_to_a_server_not_accepted(rdp_run: RdpRun, name: str, outcome: Outcome, basis: str) -> None:
    result = rdp_run.result(name)
    assert result.outcome is outcome, result.detail
    assert "nothing was sent" in result.detail or "no user name or password was sent" in result.detail
    tls = rdp_run.events(name, "tls")[0]["data"]
    assert tls["trust"]["basis"] == basis and tls["leaf_sha256"]
    assert not rdp_run.events(name, "rdp_logon")  # the client never ran
    user = rdp_run.record(name)["account"]
    assert user not in rdp_run.server_logs["xrdp"] and user not in rdp_run.server_logs["shadow"]
    assert (rdp_run.folder(name) / "rdp-certificate-chain.pem").read_text().startswith("-----BEGIN CERTIFICATE")


def test_tls_only_against_an_nla_server_is_refused_before_anything_is_sent(rdp_run: RdpRun) -> None:
    result = rdp_run.result("shadow-tls-only")
    assert result.outcome is Outcome.ERROR and "HYBRID_REQUIRED_BY_SERVER" in result.detail
    assert rdp_run.events("shadow-tls-only", "rdp_negotiation")[0]["data"]["failure"] == "refused"


def test_closed_and_silent_ports(rdp_run: RdpRun) -> None:
    assert rdp_run.result("closed").outcome is Outcome.UNREACHABLE
    silent = rdp_run.result("silent")
    assert silent.outcome is Outcome.TIMEOUT and "no RDP answer within 2 s" in silent.detail


def _our_clients() -> list[int]:
    """xfreerdp processes and their private Xvfb displays (work folders ekt-rdp-*) below this test run."""
    out = []
    for pid in descendants([os.getpid()]):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"xfreerdp") or (argv[0].endswith(b"Xvfb") and b"ekt-rdp-" in b" ".join(argv)):
            out.append(pid)
    return out


def test_an_interrupt_ends_a_waiting_logon_at_once(rdp_shadow, tmp_path: Path) -> None:
    admin = rdp_shadow.account("admin")
    rows = [{"name": "slow", "profile": "test_rdp_slow", "host": rdp_shadow.host, "port": rdp_shadow.port,
             "username": f"{admin.domain}\\{admin.username}", "password": "env:EKT_RDP_SLOW",
             "allow_self_signed": True, "timeouts": {"login": 120}}]
    inv = load_inventory(inventory(tmp_path / "inventory.yaml", rows),
                         ProfileRegistry([profile_dir(tmp_path)], use_env=False))
    returned = threading.Event()

    def interrupt_once_the_client_runs(_target: Any) -> None:
        def watch() -> None:
            deadline = time.monotonic() + 60
            while not _our_clients() and time.monotonic() < deadline and not returned.is_set():
                time.sleep(0.1)
            time.sleep(2)  # the client is logging on (settle 90 s: it would wait a long time)
            if not returned.is_set():  # as Ctrl-C does: SIGINT wakes the main thread's wait
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        threading.Thread(target=watch, daemon=True).start()

    with pytest.raises(KeyboardInterrupt):
        try:
            capture(inv, tmp_path / "case", SecretResolver(environ={"EKT_RDP_SLOW": admin.password}),
                    RunOptions(concurrency=1), progress=Progress(started=interrupt_once_the_client_runs))
        finally:
            returned.set()
    finished = [e for e in read_entries(tmp_path / "case" / "journal.jsonl") if e["event"] == "target_finished"]
    assert len(finished) == 1 and finished[0]["data"]["outcome"] == "error"
    assert "interrupted" in finished[0]["data"]["detail"] and "cancelled" in finished[0]["data"]["detail"]
    assert not _our_clients()  # xfreerdp and its display are gone, not left running
    assert_no_secrets(tmp_path / "case", rdp_shadow.secrets())
