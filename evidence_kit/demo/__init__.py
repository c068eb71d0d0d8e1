"""``evidence-kit demo``: the whole flow on local targets started inside this process.

No set-up, no root: an SSH device built on paramiko's server API and, when a browser is
available, a local web admin portal with a TOTP second step. Their credentials (a correct and a
wrong one each) start in a Bitwarden-style export (age-encrypted) that ``import`` turns into the
inventory; they are captured, the case is sealed (signed, time-stamped by a local ``openssl ts``
authority when openssl is installed, encrypted to a demo client key), verified and reported,
then handed over to a demo new provider's OpenSSH key, the credential package is checked
against the evidence and the transmittal acknowledged (evidence_kit/demo/handover.py).
Everything lands in one folder, which the demo prints.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.capture import CaptureResult, Progress, capture
from evidence_kit.demo.handover import (
    EXPORT,
    NETWORK_FOLDER,
    WEB_FOLDER,
    VaultItem,
    hand_over,
    import_inventory,
    write_export,
)
from evidence_kit.drivers.base import RunOptions
from evidence_kit.errors import BrowserNotFoundError
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.secrets import Secret, SecretResolver

Echo = Callable[[str], None]


@dataclass
class DemoResult:
    folder: Path
    capture: CaptureResult | None = None
    archive: Path | None = None
    report: Path | None = None
    verified: bool = False
    handover: Path | None = None
    handed_over: bool = False  # package checked against the evidence, transmittal acknowledged
    notes: list[str] = field(default_factory=list)
    # The demo's own random credentials, so a caller (the tests) can scan the evidence for them.
    used_secrets: list[Secret] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        # The wrong-credential targets are meant to fail; the demo succeeds when the flow does.
        return self.capture is not None and self.archive is not None and self.verified and self.handed_over


AUTHORIZATION = """\
DEMONSTRATION ONLY - NOT A REAL AUTHORIZATION

Contoso Ltd (demo) authorizes Example MSP (demo) to log into the assets listed in the attached
inventory with the credentials being handed over, on {day}, for the sole purpose of recording
evidence that each credential works, and to give the sealed evidence to Contoso Ltd (demo).

Signed: ______________________  (client)        Signed: ______________________  (provider)
"""


@contextlib.contextmanager
def _web_portal(echo: Echo, wanted: bool) -> Iterator[Any]:
    """The demo web portal, when a browser can drive it; otherwise None (and say why)."""
    if not wanted:
        yield None
        return
    try:
        from evidence_kit.browser import find_browser

        choice = find_browser()
    except BrowserNotFoundError as exc:
        echo(f"no browser, so the web part is skipped: {exc.one_line()}")
        yield None
        return
    from evidence_kit.demo.web_portal import DemoPortal

    with DemoPortal() as portal:
        echo(f"demo web portal on {portal.url} (browser: {choice.describe()})")
        yield portal


@contextlib.contextmanager
def _time_stamp_authority(folder: Path, echo: Echo) -> Iterator[Any]:
    """A local RFC 3161 authority (openssl ts) so the demo shows trusted time; None without openssl."""
    if shutil.which("openssl") is None:
        echo("openssl not found: sealing without a time-stamp")
        yield None
        return
    from evidence_kit.demo.tsa import TSA

    tsa = TSA(folder).start()
    try:
        echo(f"local time-stamp authority on {tsa.url} (its root: {tsa.root_pem})")
        yield tsa
    finally:
        tsa.stop()


def run_demo(workdir: Path, echo: Echo = print, web: bool = True) -> DemoResult:
    from evidence_kit.demo.ssh_device import DemoDevice
    from evidence_kit.seal import keys
    from evidence_kit.seal.seal import SealOptions, seal
    from evidence_kit.seal.timestamp import load_roots
    from evidence_kit.seal.verify import VerifyOptions, verify

    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(workdir) / stamp
    folder.mkdir(parents=True, exist_ok=False)
    result = DemoResult(folder)
    made = keys.generate(folder / "keys")
    echo(f"demo keys in {made.folder}: client recipient {made.recipient}, signer {made.signer_fingerprint}")

    portal_browser = False
    with DemoDevice() as device, _web_portal(echo, web) as portal, \
            _time_stamp_authority(folder / "tsa", echo) as tsa:
        echo(f"demo SSH device on {device.host}:{device.port} (host key {device.fingerprint})")
        uri = f"ssh://{device.host}:{device.port}"
        items = [
            VaultItem("demo-router", NETWORK_FOLDER, uri, device.username, device.password,
                      enable_secret=device.enable_secret),
            VaultItem("demo-router-wrong-password", NETWORK_FOLDER, uri, device.username, device.password + "-wrong"),
        ]
        if portal is not None:
            portal_browser = True
            items += [
                VaultItem("demo-portal", WEB_FOLDER, portal.url, portal.username, portal.password, portal.totp_seed),
                VaultItem("demo-portal-wrong-password", WEB_FOLDER, portal.url, portal.username,
                          portal.wrong_password, portal.totp_seed),
            ]
        result.used_secrets = [Secret(v, f"vault item {i.name}") for i in items
                               for v in (i.password, i.totp, i.enable_secret) if v]
        (folder / "authorization-letter.txt").write_text(AUTHORIZATION.format(day=stamp[:8]), encoding="utf-8")
        (folder / "vault").mkdir()
        export = folder / "vault" / EXPORT
        write_export(export, items, made.recipient)
        inventory_path = import_inventory(folder, export, made.identity, made.recipient, "authorization-letter.txt",
                                          portal is not None, echo)
        inventory = load_inventory(inventory_path, ProfileRegistry())
        resolver = SecretResolver(environ={}, base_dir=folder, sources=inventory.case.sources)

        def finished(r: Any) -> None:
            echo(f"  {r.name}: {r.outcome.value} - {r.detail}")

        echo("capturing (the *-wrong-password targets are meant to fail: failures are evidence too)...")
        result.capture = capture(inventory, folder / "case", resolver, RunOptions(concurrency=4),
                                 progress=Progress(finished=finished))
        echo(f"case folder: {result.capture.case_root}")

        archive = folder / f"{result.capture.case_id}.age"
        root_files = [tsa.root_pem] if tsa else []
        roots = load_roots(root_files)
        sealed = seal(SealOptions(case_dir=result.capture.case_root, output=archive, sign_key=made.signing_key,
                                  tsa_urls=[tsa.url] if tsa else [], tsa_roots=roots))
        echo(f"sealed: {archive} (sha256 {sealed.sha256}); public receipt {sealed.receipt}")
        for stamp_info in sealed.timestamps:
            echo(f"  trusted time {stamp_info['time']} from {stamp_info['tsa_name'] or stamp_info['tsa']}")
        result.archive = archive

        identities = keys.load_identities(made.identity)
        checks = verify(VerifyOptions(archive=archive, identities=identities,
                                      trust_key=keys.load_public_key(made.signing_public), tsa_roots=roots))
        result.verified = checks.ok
        width = max(len(c.name) for c in checks.checks)
        for c in checks.checks:
            echo(f"  {c.status.value:<11} {c.name:<{width}}  {c.detail}")
        echo("verification: ALL CHECKS PASSED" if checks.ok else "verification: FAILED")
        result.report = _report(archive, folder, made, root_files, echo, pdf=portal_browser)

        # The handover itself, while the local TSA still runs (the transmittal is time-stamped too).
        handed = hand_over(folder, result.capture.case_root, inventory_path, made.signing_key,
                           [tsa.url] if tsa else [], roots, portal_browser, echo)
        result.handover, result.handed_over = handed.folder, handed.ok
    echo(f"everything is in {folder}")
    return result


def _report(archive: Path, folder: Path, made: Any, root_files: list[Path], echo: Echo, pdf: bool) -> Path:
    """The legal review report: HTML always; PDF too when a browser can print it."""
    from evidence_kit.report.make import write_reports

    out = folder / "report.html"
    outs = [out, out.with_suffix(".pdf")] if pdf else [out]
    # HTML and PDF from one verification and extraction of the archive.
    write_reports(archive, outs, identity_files=[made.identity], trust_key=made.signing_public, tsa_cas=root_files)
    echo(f"report for legal review: {out}")
    if pdf:
        echo(f"report as PDF: {out.with_suffix('.pdf')}")
    return out
