"""A sealed archive made from real captures (OpenSSH sshd with the simulated Cisco CLI and a
hostile banner) plus targets journaled through the real case API, sealed with the real seal
code and time-stamped by a real ``openssl ts`` TSA. Built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from evidence_kit.capture import capture
from evidence_kit.drivers.base import RunOptions
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.seal.keys import generate
from evidence_kit.seal.seal import SealOptions, seal
from evidence_kit.secrets import SecretResolver
from tests.helpers import assert_no_secrets, random_password
from tests.report import build
from tests.servers.sshd import HOSTILE_BANNER, InventoryTarget, SshdTargets, build_inventory
from tests.servers.tsa import TSA


@dataclass
class Sealed:
    folder: Path
    archive: Path
    case_root: Path
    case_id: str
    identity: Path
    public_key: Path
    tsa_root: Path
    secrets: list[str]
    target_names: list[str]
    cockpit: bool = False  # real Cockpit web captures are in the case


def authorization_pdf(path: Path) -> Path:
    from evidence_kit.browser import sync_browser

    with sync_browser() as browser:
        page = browser.new_page()
        page.set_content("<h1>Authorization letter</h1><p>Contoso Ltd authorizes Example MSP to test the "
                         "handed-over credentials.</p>")
        page.pdf(path=str(path), format="A4")
    return path


class Canary:
    """An HTTP listener on 127.0.0.1 that records every request (none may arrive)."""

    def __init__(self, port: int) -> None:
        import http.server
        import threading

        self.hits: list[str] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, name="canary", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def canary() -> Iterator[Canary]:
    c = Canary(build.CANARY_PORT)
    yield c
    c.stop()


@pytest.fixture(scope="session")
def report_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TSA]:
    tsa = TSA(tmp_path_factory.mktemp("report-tsa")).start()
    yield tsa
    tsa.stop()


def _cockpit_rows(request: pytest.FixtureRequest, env: dict[str, str]) -> list[dict[str, str]]:
    """Real Cockpit web logins (one good, one wrong) when Cockpit can run here."""
    try:
        cockpit = request.getfixturevalue("cockpit")
    except pytest.skip.Exception:
        return []
    env.update({"EKT_CK_PW": cockpit.user.password, "EKT_CK_BAD": random_password("Wrong")})
    return [
        {"name": "cockpit-good", "profile": "cockpit_web", "url": cockpit.url, "username": cockpit.user.name,
         "password": "env:EKT_CK_PW"},
        {"name": "cockpit-wrong", "profile": "cockpit_web", "url": cockpit.url, "username": cockpit.user.name,
         "password": "env:EKT_CK_BAD"},
    ]


@pytest.fixture(scope="session")
def sealed(sshd_targets: SshdTargets, report_tsa: TSA, tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Sealed:
    folder = tmp_path_factory.mktemp("report-case")
    keys = generate(folder / "keys")
    auth = authorization_pdf(folder / "authorization-letter.pdf")
    targets = [
        # pinned, so its timeline says the host key matched the pin
        InventoryTarget("linux-host", sshd_targets.account("linux"), sshd_targets.port,
                        extra={"host_key": sshd_targets.host_key_fingerprints["ssh-ed25519"]}),
        InventoryTarget("hostile-banner-host", sshd_targets.account("banner_html"), sshd_targets.port),
        InventoryTarget("cisco-limited", sshd_targets.account("cisco_limited"), sshd_targets.port),
    ]
    inv_path = folder / "inventory.yaml"
    env = build_inventory(inv_path, targets, case={
        "client": "Contoso Ltd", "provider": "Example MSP", "technician": "Test Runner",
        "authorization": str(auth),
    })
    web = _cockpit_rows(request, env)
    if web:
        doc = yaml.safe_load(inv_path.read_text())
        doc["targets"].extend(web)
        inv_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    inventory = load_inventory(inv_path, ProfileRegistry())
    case_root = folder / "case"
    result = capture(inventory, case_root, SecretResolver(environ=env, base_dir=folder), RunOptions(concurrency=5))
    outcomes = {r.name: r.outcome.value for r in result.results}
    expected = {"linux-host": "login_ok", "hostile-banner-host": "login_ok", "cisco-limited": "login_limited"}
    if web:
        expected.update({"cockpit-good": "login_limited", "cockpit-wrong": "auth_failed"})
    assert outcomes == expected, outcomes
    # A second run into the same case, through the case API: a failed web login with a
    # real Chromium screenshot, and a terminal session full of escape sequences.
    web_password = random_password("Web")
    case = build.synthetic_case(case_root)
    build.add_web_target(case, build.portal_png(build.HOSTILE_TITLE), web_password)
    build.add_ansi_target(case, HOSTILE_BANNER.encode())
    case.close({"targets": 2})
    assert_no_secrets(case_root, [*env.values(), web_password])
    archive = folder / "case.age"
    seal(SealOptions(case_dir=case_root, output=archive, sign_key=folder / "keys" / "signing-key.pem",
                     recipients=[keys.recipient], tsa_urls=[report_tsa.url]))
    return Sealed(
        folder=folder, archive=archive, case_root=case_root, case_id=result.case_id,
        identity=folder / "keys" / "age-identity.txt", public_key=folder / "keys" / "signing-public.pem",
        tsa_root=report_tsa.root_pem, secrets=[*env.values(), web_password],
        target_names=["linux-host", "hostile-banner-host", "cisco-limited", "web-portal", "ansi-switch",
                      *[str(row["name"]) for row in web]],
        cockpit=bool(web),
    )
