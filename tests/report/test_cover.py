"""The cover answers two questions apart, in words: did the credentials work (counts per
outcome, every target that is not login_ok named with its outcome), and is the evidence intact
(the verification result). A green "ALL CHECKS PASSED" must never read as "the logins worked"."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.report import write_report
from evidence_kit.report.sentences import outcome_words
from tests.report import build
from tests.report.conftest import Sealed

pytestmark = pytest.mark.slow

GREEN, RED, AMBER = "rgb(27, 110, 42)", "rgb(176, 0, 32)", "rgb(138, 90, 0)"


def _cover(html: str) -> str:
    return html[:html.index('id="contents"')]


def _box(cover: str, css: str) -> str:
    """The text of the answer box whose class list contains ``css``."""
    start = cover.rindex("<div", 0, cover.index(f'class="verdict {css}'))
    depth, end = 0, len(cover)
    for m in re.finditer(r"<(/?)div\b", cover[start:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            end = start + m.start()
            break
    return html_lib.unescape(" ".join(re.sub(r"<[^>]+>", " ", cover[start:end]).split()))


def _outcomes(case_root: Path) -> dict[str, str]:
    """Each target's outcome as its journal says (the last target_finished wins)."""
    out = {}
    for line in (case_root / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["event"] == "target_finished":
            out[entry["target"]] = entry["data"]["outcome"]
    return out


def _styles(html_file: Path) -> dict[str, dict[str, str]]:
    """Border and text colours of each cover box, as Chromium draws them."""
    from evidence_kit.browser import sync_browser

    with sync_browser() as browser:
        page = browser.new_page()
        page.goto(html_file.as_uri())
        styles = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#cover .verdict')]
            .map(el => [el.classList.contains('creds') ? 'creds' : 'evidence',
                        {border: getComputedStyle(el).borderTopColor, color: getComputedStyle(el).color,
                         background: getComputedStyle(el).backgroundColor,
                         width: String(el.getBoundingClientRect().width)}]))""")
        page.close()
    return styles


def _write(sealed: Sealed, out: Path, **kw: Any) -> Any:
    kw.setdefault("trust_key", sealed.public_key)
    return write_report(sealed.archive, out, identity_files=[sealed.identity], tsa_cas=[sealed.tsa_root], **kw)


def test_failing_logins_with_intact_evidence(sealed: Sealed, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = _write(sealed, out)
    assert result.ok
    cover = _cover(out.read_text(encoding="utf-8"))
    creds, evidence = _box(cover, "answer creds"), _box(cover, "answer evidence")
    outcomes = _outcomes(sealed.case_root)
    ok = [n for n, o in outcomes.items() if o == "login_ok"]
    not_ok = {n: o for n, o in outcomes.items() if o != "login_ok"}
    assert not_ok and ok  # the case has both
    # question 1, in words: counts per outcome, every miss named with its outcome
    assert creds.startswith("Did the credentials work? PARTLY")
    assert f"{len(ok)} of {len(outcomes)} logged in with the expected access" in creds
    assert f"{len(ok)} logged in with the expected access login_ok" in creds
    for outcome in set(not_ok.values()):
        count = list(not_ok.values()).count(outcome)
        assert f"{count} {outcome_words(outcome)} {outcome}" in creds, outcome
    for name, outcome in not_ok.items():
        assert f"{name} \u2014 {outcome_words(outcome)} {outcome}" in creds, name
    for name in ok:
        assert name not in creds  # only the misses are named
    assert "the credential was refused auth_failed" in creds
    assert "ALL CHECKS PASSED" not in creds
    # question 2, apart: the verification result
    assert evidence.startswith("Is the evidence intact? YES ALL CHECKS PASSED")
    assert "PARTLY" not in evidence and "auth_failed" not in evidence
    # drawn: green only for the evidence; the credentials answer is amber
    styles = _styles(out)
    assert styles["evidence"]["border"] == GREEN and styles["evidence"]["color"] == GREEN
    assert styles["creds"]["border"] == AMBER and GREEN not in styles["creds"].values()


def test_all_logins_ok(tmp_path: Path) -> None:
    from evidence_kit.seal.keys import generate
    from evidence_kit.seal.seal import SealOptions, seal

    case = build.synthetic_case(tmp_path / "case")
    build.add_ansi_target(case, b"plain banner\n")
    case.close()
    keys = generate(tmp_path / "keys")
    archive = tmp_path / "ok.age"
    seal(SealOptions(case_dir=tmp_path / "case", output=archive, sign_key=keys.folder / "signing-key.pem",
                     recipients=[keys.recipient]))
    out = tmp_path / "report.html"
    result = write_report(archive, out, identity_files=[keys.folder / "age-identity.txt"],
                          trust_key=keys.folder / "signing-public.pem")
    assert result.ok
    cover = _cover(out.read_text(encoding="utf-8"))
    creds = _box(cover, "answer creds")
    assert creds.startswith("Did the credentials work? YES the target logged in with the expected access")
    assert "1 logged in with the expected access login_ok" in creds
    assert "Not logged in" not in creds
    assert _box(cover, "answer evidence").startswith("Is the evidence intact? YES ALL CHECKS PASSED")
    styles = _styles(out)
    assert styles["creds"]["border"] == GREEN and styles["evidence"]["border"] == GREEN


def test_tampered_archive_fails_first_and_knows_no_login(sealed: Sealed, tmp_path: Path) -> None:
    bad = tmp_path / sealed.archive.name
    raw = bytearray(sealed.archive.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    bad.write_bytes(bytes(raw))
    out = tmp_path / "report.html"
    result = write_report(bad, out, identity_files=[sealed.identity], trust_key=sealed.public_key)
    assert not result.ok
    html = out.read_text(encoding="utf-8")
    cover = _cover(html)
    assert "ALL CHECKS PASSED" not in html
    failed = cover.index('class="verdict failed"')
    assert failed < cover.index('class="verdict answer creds')  # the failure comes first
    assert _box(cover, "failed").startswith("Is the evidence intact? VERIFICATION FAILED")
    assert _box(cover, "answer creds").startswith(
        "Did the credentials work? UNKNOWN the archive could not be read, so no login can be shown")
    styles = _styles(out)
    assert styles["evidence"]["background"] == RED and styles["evidence"]["color"] == "rgb(255, 255, 255)"
    # full width, as before: unmissable
    assert float(styles["evidence"]["width"]) >= float(styles["creds"]["width"])


def test_readable_but_failed_archive_marks_the_outcomes_unreliable(sealed: Sealed, tmp_path: Path) -> None:
    from evidence_kit.seal.keys import generate

    other = generate(tmp_path / "other")
    out = tmp_path / "report.html"
    result = _write(sealed, out, trust_key=other.folder / "signing-public.pem")
    assert result.failed_checks == ["signer"]
    cover = _cover(out.read_text(encoding="utf-8"))
    assert _box(cover, "failed").startswith("Is the evidence intact? VERIFICATION FAILED")
    creds = _box(cover, "answer creds")
    assert creds.startswith("Did the credentials work? PARTLY")
    assert "As found in an archive that FAILED verification: do not rely on these outcomes." in creds


def test_pdf_cover_answers_both_questions(sealed: Sealed, tmp_path: Path) -> None:
    import subprocess

    out = tmp_path / "report.pdf"
    _write(sealed, out)
    first = subprocess.run(["pdftotext", "-l", "1", str(out), "-"], check=True, capture_output=True,
                           text=True).stdout
    flat = " ".join(first.split())
    assert "DID THE CREDENTIALS WORK?" in flat and "IS THE EVIDENCE INTACT?" in flat
    assert "PARTLY" in flat and "ALL CHECKS PASSED" in flat
    for name, outcome in _outcomes(sealed.case_root).items():
        if outcome != "login_ok":
            assert name in flat and outcome in flat, name


def _view(name: str, outcome: str) -> Any:
    from evidence_kit.report.model import TargetView

    return TargetView(name=name, anchor=f"t-{name}", kind="ssh", profile="linux", address="h:22", outcome=outcome,
                      detail=f"{name} detail", started="", finished="")


@pytest.mark.parametrize(("outcomes", "verdict", "tone", "headline"), [
    (["login_ok", "login_ok"], "YES", "passed", "all 2 logged in with the expected access"),
    (["login_limited"], "PARTLY", "warn", "0 of 1 logged in with the expected access; 1 logged in with less access"),
    (["login_ok", "login_limited", "mfa_required"], "PARTLY", "warn",
     "1 of 3 logged in with the expected access; 1 more logged in with less access"),
    (["auth_failed", "unreachable", "no outcome recorded"], "NO", "failed", "none of the 3 logged in"),
    (["host_key_mismatch"], "NO", "failed", "the target did not log in"),
    ([], "NO TARGETS", "unknown", "the case holds no login attempt"),
])
def test_credentials_answer(outcomes: list[str], verdict: str, tone: str, headline: str) -> None:
    from evidence_kit.report.cover import credentials_answer

    answer = credentials_answer([_view(f"t{i}", o) for i, o in enumerate(outcomes)], readable=True)
    assert (answer.verdict, answer.tone, answer.headline) == (verdict, tone, headline)
    assert [m.outcome for m in answer.misses] == [o for o in outcomes if o != "login_ok"]
    assert sum(c.count for c in answer.counts) == len(outcomes)
    if answer.counts and "login_ok" in outcomes:
        assert answer.counts[0].outcome == "login_ok"  # the successes first
