"""The summary groups targets that prove the same account: one Windows domain admin proven by
the directory, an SMB admin share and an RDP desktop reads as one account, linked by names the
servers gave (never by the credential), and a different account stays apart."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

from evidence_kit.report.accounts import account_groups
from evidence_kit.report.collect import collect
from evidence_kit.report.model import TargetView
from evidence_kit.report.render import write_html
from evidence_kit.seal.model import Verification

DN = "CN=Admin,CN=Users,DC=corp,DC=example"


def view(name: str, kind: str, identity: dict[str, str], address: str = "h:1", outcome: str = "login_ok") -> TargetView:
    return TargetView(name, f"t-{name}", kind, "p", address, outcome, "", "", "", identity=list(identity.items()))


def test_names_are_linked_by_what_the_servers_said() -> None:
    groups = account_groups([
        view("dir", "directory", {"account": "admin@corp.example", "account_dn": DN}),
        view("smb", "smb", {"account": "CORP\\admin", "server_domain": "corp.example",
                            "server_netbios_domain": "CORP"}),
        view("rdp", "rdp", {"account": "CORP\\Admin"}),
        view("dir-sam", "directory", {"account": "admin", "account_dn": DN}),
        view("other", "smb", {"account": "CORP\\backup"}),
        view("local-a", "rdp", {"account": "administrator"}, "10.0.0.5:3389"),
        view("local-b", "rdp", {"account": "administrator"}, "10.0.0.6:3389"),
    ])
    assert len(groups) == 1
    group = groups[0]
    assert group.account == "admin@corp.example" and group.kinds == ["directory", "rdp", "smb"]
    assert [m.name for m in group.members] == ["dir", "smb", "rdp", "dir-sam"]
    assert group.basis == ["CORP is corp.example (NTLM challenge of smb)",
                           f"admin is in corp.example (directory entry {DN})"]


def test_without_a_link_a_netbios_name_is_not_guessed() -> None:
    groups = account_groups([view("dir", "directory", {"account": "admin@corp.example"}),
                             view("rdp", "rdp", {"account": "CORP\\admin"}),
                             view("rdp2", "rdp", {"account": "corp\\ADMIN"}, "other:3389"),
                             view("local", "rdp", {"account": "admin"}, "h:3389"),
                             view("local2", "smb", {"account": "admin"}, "h:445")])
    assert [(g.account, [m.name for m in g.members], g.basis) for g in groups] == [
        ("corp\\admin", ["rdp", "rdp2"], []), ("admin at h", ["local", "local2"], [])]


def _entry(seq: int, event: str, target: str | None, data: dict[str, Any]) -> str:
    return json.dumps({"seq": seq, "time": f"2026-11-25T10:00:{seq:02d}.000000Z", "mono": 0, "run": 1,
                       "target": target, "event": event, "data": data, "artifact": None, "prev": "0" * 64,
                       "hash": "0" * 64}, sort_keys=True)


def test_the_report_summary_shows_the_group(tmp_path: Path) -> None:
    data = tmp_path / "x" / "case-1" / "data"
    data.mkdir(parents=True)
    (data / "case.json").write_text(json.dumps({"format": "evidence-kit-case/1", "case_id": "case-1", "client": "C",
                                                "provider": "P", "technician": "T"}))
    targets = [
        ("corp-directory", "directory", "dc1:636", {"account": "admin@corp.example", "account_dn": DN}),
        ("fs1-admin-share", "smb", "fs1:445", {"account": "CORP\\admin", "server_domain": "corp.example",
                                               "server_netbios_domain": "CORP"}),
        ("fs1-desktop", "rdp", "fs1:3389", {"account": "CORP\\admin", "security": "nla"}),
        ("backup-share", "smb", "fs1:445", {"account": "CORP\\backup"}),
    ]
    lines, seq = [], 0
    for name, kind, address, identity in targets:
        seq += 1
        lines.append(_entry(seq, "target_started", name, {"kind": kind, "profile": f"p-{kind}", "address": address}))
        seq += 1
        lines.append(_entry(seq, "target_finished", name,
                            {"outcome": "login_ok", "detail": "ok", "identity": identity}))
    (data / "journal.jsonl").write_text("\n".join(lines) + "\n")
    result = collect(Verification(archive="x.age", extracted_to=str(data.parent), case_id="case-1"),
                     tmp_path / "x.age", "ab" * 32, 10)
    out = tmp_path / "r.html"
    write_html(result, out)
    page = out.read_text(encoding="utf-8")
    section = page[page.index('id="accounts"'):page.index('id="targets"')]
    text = html_lib.unescape(" ".join(re.sub(r"<[^>]+>", " ", section).split()))
    assert "Targets that prove the same account" in text
    assert "admin@corp.example" in text and "CORP is corp.example (NTLM challenge of fs1-admin-share)" in text
    for name in ("corp-directory", "fs1-admin-share", "fs1-desktop"):
        assert f'href="#{result.targets[[t.name for t in result.targets].index(name)].anchor}"' in section
    assert "backup-share" not in section
