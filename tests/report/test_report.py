"""Reports of a real sealed archive, drawn and loaded in real headless Chromium."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evidence_kit.cli import cli
from evidence_kit.report import write_report
from tests.helpers import assert_no_secrets
from tests.report import build
from tests.report.conftest import Sealed
from tests.servers.sshd import HOSTILE_BANNER

pytestmark = pytest.mark.slow


def _write(sealed: Sealed, out: Path, **kw: Any):
    return write_report(sealed.archive, out, identity_files=[sealed.identity], trust_key=sealed.public_key,
                        tsa_cas=[sealed.tsa_root], **kw)


def _pixels(png: bytes, rgb: tuple[int, int, int], tol: int = 12) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        data = img.convert("RGB").get_flattened_data()
        return sum(1 for p in data if all(abs(p[i] - rgb[i]) <= tol for i in range(3)))


@pytest.fixture(scope="module")
def html_report(sealed: Sealed, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("report-html") / "report.html"
    return out, _write(sealed, out)


def test_html_report_holds_the_evidence(sealed: Sealed, html_report: tuple[Path, Any]) -> None:
    out, result = html_report
    assert result.ok and result.failed_checks == [] and result.format == "html"
    assert result.targets == len(sealed.target_names)
    assert result.screenshots == 1 or (sealed.cockpit and result.screenshots > 3)
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
            "style-src 'unsafe-inline'") in html
    assert "ALL CHECKS PASSED" in html and "VERIFICATION FAILED" not in html
    assert result.archive_sha256 in html and sealed.case_id in html
    for name in sealed.target_names:
        assert f">{name}<" in html
    for outcome in ("login_ok", "login_limited", "auth_failed"):
        assert outcome in html
    # the re-run checks, each with its result
    for check in ("decrypt", "archive", "bag", "signature", "signer", "timestamp 1", "timestamp 1 trust",
                  "journal", "receipt"):
        assert re.search(rf'<td class="mono">{re.escape(check)}</td><td><span class="status st-passed">PASSED',
                         html), check
    # trusted time, signer matched, authorization named with its first page drawn
    assert "TSA signature and chain checked" in html and "matches the trusted key given" in html
    assert "authorization-letter.pdf" in html and "first page of the PDF" in html
    # screenshots: embedded byte for byte, with the original's hash beside
    assert html.count('<img class="shot"') == result.screenshots and "Original (untouched)" in html
    if sealed.cockpit:  # real web captures: Cockpit's own words, its screenshots, a failure with its error
        assert "Wrong user name or password" in html and "Limited access" in html
        section = html[html.index('id="t-cockpit-wrong"'):]
        section = section[:section.index("</section>")]
        assert "Failure: auth_failed" in section and '<img class="shot"' in section
        # each stamped copy is tied to its own target's original, even where two screens are identical
        assert "artifacts/cockpit-good/" not in section and "no original with this hash" not in html
    # Appendix B names this archive's files; D is a template, not advice
    assert f"bagit.py --validate extracted/{sealed.case_id}" in html
    assert "tagmanifest-sha256.txt.sig.tsr" in html and "openssl pkeyutl -verify" in html
    assert "not legal advice" in html
    # the real Cisco simulator's identity output, as text
    assert "Cisco IOS XE Software, Version 17.09.04a" in html


def test_html_report_hostile_content_is_inert_text(sealed: Sealed, html_report: tuple[Path, Any]) -> None:
    out, _ = html_report
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"<img[^>]*onerror", html, re.I)
    assert "\x1b" not in html and "\x07" not in html
    # shown as text, escaped
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in html  # real sshd banner
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html  # page title
    assert "&lt;script&gt;alert(&#39;cert&#39;)&lt;/script&gt;" in html  # certificate subject
    assert "&lt;img src=x onerror=alert(&#39;detail&#39;)&gt;" in html  # failure detail
    assert "Contoso Ltd" in html


def test_transcript_with_ansi_and_cursor_moves_reads_as_text(html_report: tuple[Path, Any]) -> None:
    out, _ = html_report
    html = out.read_text(encoding="utf-8")
    section = html[html.index('id="t-ansi-switch"'):]
    section = section[:section.index("</section>")]
    text = re.sub(r"<[^>]+>", "", section)
    for line in build.ANSI_EXPECT:
        assert line in text, line
    for gone in build.ANSI_ABSENT:
        assert gone not in text, gone
    assert "RED ALERT" in text and "pwned-title" not in text  # the hostile banner, interpreted


def test_html_report_in_chromium_runs_nothing_and_fetches_nothing(html_report: tuple[Path, Any], canary) -> None:
    from evidence_kit.browser import sync_browser

    out, _ = html_report
    requests: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_browser() as browser:
        # JavaScript on: if escaping or the CSP failed, a planted script would run here.
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        context.route("**/*", lambda route: (requests.append(route.request.url),
                                             route.continue_() if route.request.url.startswith("file:")
                                             else route.abort()))
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        # no script element, no event handler attribute, the hostile markup is text
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        assert page.evaluate("document.querySelectorAll('[onerror],[onload],[onclick]').length") == 0
        assert "<script>alert(document.cookie)</script>" in page.inner_text("body")
        # the cover: a green verdict box
        cover = page.screenshot(clip={"x": 0, "y": 0, "width": 1000, "height": 400})
        assert _pixels(cover, (0x1B, 0x6E, 0x2A)) > 2000, "green ALL CHECKS PASSED box not drawn"
        # a screenshot drawn: its magenta block is on screen
        shot = page.locator("#t-web-portal figure img.shot").first
        shot.scroll_into_view_if_needed()
        assert page.evaluate("document.querySelector('#t-web-portal figure img.shot').naturalWidth") == 800
        assert page.evaluate("[...document.querySelectorAll('img.shot')].every(i => i.naturalWidth > 0)")
        assert _pixels(shot.screenshot(), build.MAGENTA) > 20000
        # thumbnails in the summary decode too
        assert page.evaluate("[...document.querySelectorAll('img.thumb')].every(i => i.naturalWidth > 0)")
        context.close()
    assert [u for u in requests if not u.startswith("file:")] == []
    assert requests.count(out.as_uri()) >= 1 and len(set(requests)) == 1
    assert dialogs == [] and errors == []
    assert canary.hits == []


def test_csp_blocks_a_script_that_got_past_escaping(html_report: tuple[Path, Any], tmp_path: Path, canary) -> None:
    """Second line of defence: plant a script past the template and watch the CSP stop it."""
    from evidence_kit.browser import sync_browser

    out, _ = html_report
    planted = tmp_path / "planted.html"
    planted.write_text(out.read_text(encoding="utf-8").replace(
        "<main>", "<main><script>document.title='RAN'; alert('x')</script>"
        f"<img src=x onerror=\"document.title='RAN2'\"><img src='{build.CANARY}/planted.png'>", 1), encoding="utf-8")
    failed: list[str] = []
    dialogs: list[str] = []
    violations: list[str] = []
    with sync_browser() as browser:
        page = browser.new_page()
        page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(planted.as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        assert page.title() != "RAN" and page.title() != "RAN2"
    assert dialogs == []
    assert canary.hits == [], "a planted image reached the network"
    assert any("planted.png" in f and "csp" in f.lower() for f in failed), failed
    assert violations, "the CSP reported nothing: it did not see the planted script"


def test_pdf_report(sealed: Sealed, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = _write(sealed, out)
    assert result.ok and result.format == "pdf" and out.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) == result.pages and 10 <= len(pages) <= 60
    for number, page in enumerate(pages, start=1):
        flat = " ".join(page.split())
        assert result.archive_sha256 in flat, f"page {number}: archive hash missing from the footer"
        assert sealed.case_id in flat and f"Page {number} of {len(pages)}" in flat
    flat = " ".join(text.split())
    for name in sealed.target_names:
        assert name in flat
    assert "ALL CHECKS PASSED" in pages[0]
    # the table of contents carries page numbers, and they are right
    contents = next(p for p in pages if "Contents" in p)
    appendix_d = next(i for i, p in enumerate(pages, start=1) if "Appendix D" in p and "Custodian" in p
                      and p is not contents)
    assert re.search(rf"Custodian certification \(template\)\s+{appendix_d}\b", contents)
    flat_contents = " ".join(contents.split())
    for entry, heading in (("Verification", "1. Verification"), ("Summary of targets", "2. Summary of targets"),
                           ("A. Artifacts and their SHA-256 hashes", "Appendix A — Artifacts"),
                           ("B. How to verify without evidence-kit", "Appendix B — How to verify"),
                           ("C. Tools and versions", "Appendix C — Tools"),
                           ("web-portal · auth_failed", r"3\.\d+ web-portal — auth_failed")):
        m = re.search(rf"{re.escape(entry)} (\d+)\b", flat_contents)
        assert m, entry
        page_text = " ".join(pages[int(m.group(1)) - 1].split())
        assert heading in page_text or re.search(heading, page_text), (entry, m.group(1))
    info = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
    assert "595.28 x 841.89" in info or "(A4)" in info
    # the cover, drawn: green verdict
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(out), str(tmp_path / "p")], check=True)
    cover = next(tmp_path.glob("p*.png")).read_bytes()
    assert _pixels(cover, (0x1B, 0x6E, 0x2A)) > 200
    (tmp_path / "report.txt").write_text(text)
    assert_no_secrets(tmp_path, sealed.secrets)


def test_pdf_letter(sealed: Sealed, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    _write(sealed, out, paper="Letter")
    info = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
    assert "612 x 792" in info


def test_no_secret_in_case_or_report(sealed: Sealed, html_report: tuple[Path, Any]) -> None:
    assert_no_secrets(sealed.case_root, sealed.secrets)
    assert_no_secrets(html_report[0].parent, sealed.secrets)


def test_tampered_archive_says_failed_on_the_cover(sealed: Sealed, tmp_path: Path) -> None:
    bad = tmp_path / sealed.archive.name
    raw = bytearray(sealed.archive.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    bad.write_bytes(bytes(raw))
    shutil.copy(sealed.archive.with_name(sealed.archive.name + ".receipt.json"),
                tmp_path / (bad.name + ".receipt.json"))
    runner = CliRunner()
    out = tmp_path / "report.html"
    res = runner.invoke(cli, ["report", str(bad), "-o", str(out), "-i", str(sealed.identity),
                              "--trust-key", str(sealed.public_key), "--tsa-ca", str(sealed.tsa_root)])
    assert res.exit_code == 1, res.output
    html = out.read_text(encoding="utf-8")
    cover = html[:html.index('id="contents"')]
    assert "VERIFICATION FAILED" in cover and "ALL CHECKS PASSED" not in html
    assert "<title>VERIFICATION FAILED" in html
    assert re.search(r'<td class="mono">decrypt</td><td><span class="status st-failed">FAILED', html)
    assert re.search(r'<td class="mono">receipt</td><td><span class="status st-failed">FAILED', html)
    assert "content could not be read safely" in html
    pdf = tmp_path / "report.pdf"
    res = runner.invoke(cli, ["report", str(bad), "-o", str(pdf), "-i", str(sealed.identity)])
    assert res.exit_code == 1
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    first = text.split("\f")[0]
    assert "VERIFICATION FAILED" in first
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "c")], check=True)
    assert _pixels(next(tmp_path.glob("c*.png")).read_bytes(), (0xB0, 0x00, 0x20), tol=20) > 500


def test_wrong_signer_fails_but_shows_content_marked_unreliable(sealed: Sealed, tmp_path: Path) -> None:
    from evidence_kit.seal.keys import generate

    other = generate(tmp_path / "other")
    out = tmp_path / "report.html"
    result = write_report(sealed.archive, out, identity_files=[sealed.identity],
                          trust_key=other.folder / "signing-public.pem")
    assert not result.ok and result.failed_checks == ["signer"]
    html = out.read_text(encoding="utf-8")
    assert "VERIFICATION FAILED" in html[:html.index('id="contents"')]
    assert "does NOT match the trusted key" in html
    assert "do not rely on it as evidence" in html and "web-portal" in html


def test_cli_report_usage_errors(sealed: Sealed, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["report", str(sealed.archive), "-o", str(tmp_path / "r.docx"), "-i",
                              str(sealed.identity)])
    assert res.exit_code == 2 and "must end in .html or .pdf" in res.output and "Traceback" not in res.output
    res = runner.invoke(cli, ["report", str(sealed.archive), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "--identity" in res.output
    other = tmp_path / "other-id.txt"
    from pyrage import x25519

    other.write_text(str(x25519.Identity.generate()) + "\n")
    res = runner.invoke(cli, ["report", str(sealed.archive), "-o", str(tmp_path / "r.html"), "-i", str(other)])
    assert res.exit_code == 2 and "cannot open this archive" in res.output
    res = runner.invoke(cli, ["report", str(sealed.archive), "-o", str(tmp_path / "nodir" / "r.html"), "-i",
                              str(sealed.identity)])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(cli, ["report", str(sealed.archive), "-o", str(tmp_path / "r.html"), "-i",
                              str(sealed.identity), "--trust-key", str(sealed.public_key)])
    assert res.exit_code == 0 and "all verification checks passed" in res.output


def test_appendix_b_commands_verify_the_archive_with_standard_tools(sealed: Sealed, tmp_path: Path) -> None:
    """The commands the report prints, run as printed (identity and TSA root filled in)."""
    from evidence_kit.report.verification import verify_commands

    work = tmp_path / "w"
    work.mkdir()
    shutil.copy(sealed.archive, work / sealed.archive.name)
    shutil.copy(sealed.identity, work / "YOUR-AGE-IDENTITY.txt")
    shutil.copy(sealed.tsa_root, work / "TSA-ROOT.pem")
    from evidence_kit.seal.keys import fingerprint, load_public_key

    fpr = fingerprint(load_public_key(sealed.public_key))
    sha = __import__("hashlib").sha256(sealed.archive.read_bytes()).hexdigest()
    for cmd in verify_commands(sealed.archive.name, sealed.case_id, ["tagmanifest-sha256.txt.sig.tsr"], fpr, sha):
        done = subprocess.run(cmd.argv, cwd=work, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (cmd.shell, done.stdout, done.stderr)
        if cmd.expect and "…" not in cmd.expect:
            assert cmd.expect in done.stdout + done.stderr, (cmd.shell, cmd.expect)
    from evidence_kit.report.verification import JOURNAL_SCRIPT

    (work / "chain.py").write_text(JOURNAL_SCRIPT)
    bag = work / "extracted" / sealed.case_id
    done = subprocess.run(["python3", "chain.py", str(bag / "data" / "journal.jsonl")], cwd=work, capture_output=True,
                          text=True, timeout=60, check=True)
    head = [line.split(":", 1)[1].strip() for line in (bag / "bag-info.txt").read_text().splitlines()
            if line.startswith("Evidence-Kit-Journal-Head")]
    assert "chain intact" in done.stdout and done.stdout.split()[-1] == head[0]


def test_hostile_banner_from_real_sshd_is_in_the_case(sealed: Sealed) -> None:
    banners = list(sealed.case_root.glob("artifacts/hostile-banner-host/run*/banner.txt"))
    assert banners and "<script>" in banners[0].read_text()
    assert HOSTILE_BANNER.splitlines()[0] in banners[0].read_text()


def test_compact_images_are_the_same_pixels(sealed: Sealed, tmp_path: Path) -> None:
    import base64

    from PIL import Image, ImageChops

    out = tmp_path / "report.html"
    result = _write(sealed, out, compact_images=True)
    html = out.read_text(encoding="utf-8")
    assert result.ok and "Shown as a lossless WebP of the same pixels" in html
    m = re.search(r'<img class="shot" alt="screenshot 1 of web-portal: login" src="data:image/webp;base64,([^"]+)"',
                  html)
    assert m
    stamped = next(sealed.case_root.glob("artifacts/web-portal/run*/01-login.stamped.png"))
    with Image.open(io.BytesIO(base64.b64decode(m.group(1)))) as shown, Image.open(stamped) as archived:
        assert ImageChops.difference(shown.convert("RGB"), archived.convert("RGB")).getbbox() is None
        assert len(m.group(1)) * 3 // 4 < stamped.stat().st_size
    exact = tmp_path / "exact.html"
    _write(sealed, exact)
    text = exact.read_text(encoding="utf-8")
    assert "lossless WebP" not in text
    m = re.search(r'<img class="shot" alt="screenshot 1 of web-portal: login" src="data:image/png;base64,([^"]+)"',
                  text)
    assert m and base64.b64decode(m.group(1)) == stamped.read_bytes()  # byte for byte as archived


def test_passphrase_archive_with_image_authorization(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Made with the case API only: an authorization scan (PNG) and a passphrase-sealed archive."""
    from PIL import Image

    from evidence_kit.seal.keys import generate
    from evidence_kit.seal.seal import SealOptions, seal

    scan = tmp_path / "signed-authorization.png"
    Image.new("RGB", (600, 800), (0, 90, 200)).save(scan)
    case = build.synthetic_case(tmp_path / "case", authorization=scan)
    build.add_ansi_target(case, b"plain banner\n")
    case.close()
    keys = generate(tmp_path / "keys")
    archive = tmp_path / "pp.age"
    seal(SealOptions(case_dir=tmp_path / "case", output=archive, sign_key=keys.folder / "signing-key.pem",
                     passphrase=b"correct horse battery staple", scrypt_log_n=10))
    monkeypatch.setenv("PP", "correct horse battery staple")
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["report", str(archive), "-o", str(out), "--passphrase-env", "PP"])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "signed-authorization.png" in html and "image (re-encoded for display)" in html
    assert '<img class="preview"' in html
    assert re.search(r"<code>age -d -o \S+\.tar pp\.age</code>", html)
    assert "Contoso &lt;Ltd&gt; &amp; Co" in html  # the client's name, escaped
    monkeypatch.setenv("PP", "wrong")
    res = CliRunner().invoke(cli, ["report", str(archive), "-o", str(out), "--passphrase-env", "PP"])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_compact_images_across_processes(tmp_path: Path) -> None:
    """Enough screenshots that the WebP re-encoding runs in worker processes."""
    from PIL import Image

    from evidence_kit.seal.keys import generate
    from evidence_kit.seal.seal import SealOptions, seal

    buf = io.BytesIO()
    Image.new("RGB", (320, 200), build.MAGENTA).save(buf, "PNG")
    case = build.synthetic_case(tmp_path / "case")
    build.add_web_target(case, buf.getvalue(), "pw-not-used-elsewhere-1", shots=17)
    case.close()
    keys = generate(tmp_path / "keys")
    seal(SealOptions(case_dir=tmp_path / "case", output=tmp_path / "a.age", sign_key=keys.folder / "signing-key.pem",
                     recipients=[keys.recipient]))
    result = write_report(tmp_path / "a.age", tmp_path / "r.html", identity_files=[keys.folder / "age-identity.txt"],
                          compact_images=True)
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert result.screenshots == 17 and html.count('<img class="shot"') == 17
    webp = re.findall(r'class="shot" [^>]*src="data:image/webp', html)
    assert len(webp) == 17
