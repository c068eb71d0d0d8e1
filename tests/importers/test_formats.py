"""Every format end to end through the command: detect, select the client, map, write an
inventory that loads, whose references resolve from the source (plain and age-encrypted) to the
values the tool holds, and in which no secret appears (nor in stdout, stderr or the logs)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.importers.registry import BY_NAME
from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.redact import scan_bytes
from evidence_kit.secrets import SecretResolver
from tests.helpers import assert_no_secrets
from tests.importers import samples

FORMATS = list(samples.WRITERS)
FIELD_OF = {"password": "password", "totp": "totp", "fields/Enable secret": "enable_secret"}


def run_import(sample: samples.Sample, tmp_path: Path, run_cli: Any, *extra: str | Path,
               encrypted: bool = False) -> tuple[Any, Path, dict[str, str]]:
    source = sample.path
    args: list[str | Path] = ["--client", samples.CONTOSO, "--provider", "Example MSP", "--technician", "J. Doe"]
    env: dict[str, str] = {}
    if encrypted:
        source, key = samples.age_encrypt(sample.path, tmp_path / "keys")
        args += ["--identity", key]
    if sample.master:
        env["KDBX_PW"] = sample.master
        args += ["--source-password", "env:KDBX_PW"]
    out = tmp_path / "case" / "inventory.yaml"
    res = run_cli("import", source, "-o", out, *args, *extra, env=env)
    return res, out, env


def title_of(description: str) -> str:
    return description.split(": ", 1)[1].rsplit(" / ", 1)[-1]


def assert_clean(sample: samples.Sample, out: Path, *texts: str) -> None:
    assert_no_secrets(out, sample.secrets)
    for text in texts:
        assert not scan_bytes(text.encode(), sample.secrets), "a secret reached the output or the log"


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "age"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_loads_and_resolves(fmt: str, encrypted: bool, tmp_path: Path, run_cli: Any,
                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sample = samples.write(fmt, tmp_path / "export")
    res, out, env = run_import(sample, tmp_path, run_cli, encrypted=encrypted)
    assert res.exit_code == 0, res.stderr
    chosen = sample.chosen()

    inventory = load_inventory(out, ProfileRegistry())
    assert inventory.case.client == samples.CONTOSO and inventory.case.provider == "Example MSP"
    assert list(inventory.case.sources) == [BY_NAME[fmt].scheme]
    targets = {title_of(t.description): t for t in inventory.targets}
    assert {title: t.profile for title, t in targets.items()} == {s.title: s.expect for s in chosen if s.expect}

    # what each profile needs is there, taken from the URL
    web01 = targets["Web server web01"]
    assert (web01.host, web01.port, web01.username) == ("web01.contoso.example", 2222, "ops")
    assert targets["Core router (Cisco 2960)"].host == "10.0.0.1"
    assert targets["FortiGate 60F"].url == "https://10.0.0.253:4443/"
    assert targets["GoDaddy"].url is None  # the profile's own sign-in page, not the home page
    assert targets["Domain Admin"].host == "dc1.contoso.local"

    # every reference resolves from the source itself (decrypted in memory when it is age)
    resolver = SecretResolver(environ=env, base_dir=out.parent, sources=inventory.case.sources)
    for spec in chosen:
        if not spec.expect:
            continue
        target = targets[spec.title]
        got = {f: resolver.resolve(ref, f"{target.name}.{f}").reveal() for f, ref in target.secret_refs().items()}
        assert got == {FIELD_OF[k]: v for k, v in spec.values.items()}, spec.title

    # nothing dropped silently: each entry not mapped is a commented-out draft with its reason
    text = out.read_text()
    for spec in chosen:
        if not spec.expect:
            assert f"\n# {spec.title} (" in text, spec.title
    assert samples.FABRIKAM not in text and "of other clients not imported" in text
    assert f"{sum(1 for s in chosen if s.expect)} mapped" in res.stdout
    assert_clean(sample, out, res.stdout, res.stderr, caplog.text)


def test_json_summary_counts_every_entry(tmp_path: Path, run_cli: Any) -> None:
    sample = samples.write("itglue_csv", tmp_path / "export")
    res, out, _ = run_import(sample, tmp_path, run_cli, "--json")
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["entries"] == len(sample.specs)
    assert summary["mapped_total"] + summary["review_total"] + summary["other_clients"] == len(sample.specs)
    assert summary["mapped"]["cisco_ios"] == 1 and summary["review"]["no rule matches"] == 1
    assert_clean(sample, out, res.stdout)


def test_without_client_one_client_is_taken_whole(tmp_path: Path, run_cli: Any) -> None:
    items = [s for s in samples.specs() if s.client == samples.CONTOSO]
    sample = samples.write("hudu_json", tmp_path / "export", items)
    res = run_cli("import", sample.path, "-o", tmp_path / "inv.yaml")
    assert res.exit_code == 0, res.stderr
    inventory = load_inventory(tmp_path / "inv.yaml", ProfileRegistry())
    assert inventory.case.client == samples.CONTOSO
    assert "CHANGE ME" in inventory.case.provider  # asked for, visibly, not invented
    assert_clean(sample, tmp_path / "inv.yaml", res.stdout, res.stderr)


def test_nothing_mapped_is_exit_1_with_every_entry_for_review(tmp_path: Path, run_cli: Any) -> None:
    items = [samples.Spec("Office printer", "https://10.0.0.9", "admin", None),
             samples.Spec("NAS", "10.0.0.7", "admin", None)]
    sample = samples.write("keeper_json", tmp_path / "export", items)
    res = run_cli("import", sample.path, "-o", tmp_path / "inv.yaml")
    assert res.exit_code == 1
    text = (tmp_path / "inv.yaml").read_text()
    assert "targets: []" in text and "# Office printer (" in text and "# NAS (" in text
    assert "no entry mapped" in res.stderr
    assert_clean(sample, tmp_path / "inv.yaml", res.stdout, res.stderr)


def test_existing_output_is_kept_unless_forced(tmp_path: Path, run_cli: Any) -> None:
    sample = samples.write("bitwarden_csv", tmp_path / "export")
    out = tmp_path / "inv.yaml"
    out.write_text("# edited by hand\n")
    res = run_cli("import", sample.path, "-o", out, "--client", samples.CONTOSO)
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert out.read_text() == "# edited by hand\n"
    res = run_cli("import", sample.path, "-o", out, "--client", samples.CONTOSO, "--force")
    assert res.exit_code == 0, res.stderr
    load_inventory(out, ProfileRegistry())


def test_bitwarden_csv_ids_survive_a_reordered_export(tmp_path: Path, run_cli: Any) -> None:
    items = [s for s in samples.specs() if s.client == samples.CONTOSO and not s.archived]
    first = samples.write("bitwarden_csv", tmp_path / "a", items)
    second = samples.write("bitwarden_csv", tmp_path / "b", list(reversed(items)))
    for sample in (first, second):
        assert run_cli("import", sample.path, "-o", sample.path.parent / "inv.yaml").exit_code == 0
    refs = [sorted(str(t.password) for t in load_inventory(s.path.parent / "inv.yaml", ProfileRegistry()).targets)
            for s in (first, second)]
    assert refs[0] == refs[1]


def test_duplicate_ids_are_left_for_review(tmp_path: Path, run_cli: Any) -> None:
    items = [s for s in samples.specs() if s.client == samples.CONTOSO][:2]
    sample = samples.write("hudu_json", tmp_path / "export", items)
    doc = json.loads(sample.path.read_text())
    doc["asset_passwords"][1]["id"] = doc["asset_passwords"][0]["id"]  # pages joined twice, say
    sample.path.write_text(json.dumps(doc))
    res = run_cli("import", sample.path, "-o", tmp_path / "inv.yaml")
    assert res.exit_code == 0 and "duplicate id" in res.stdout
    inventory = load_inventory(tmp_path / "inv.yaml", ProfileRegistry())
    assert [t.profile for t in inventory.targets] == ["cisco_ios"]


def test_kdbx_with_a_key_file(tmp_path: Path, run_cli: Any) -> None:
    from pykeepass import create_database

    keyfile = tmp_path / "export" / "vault.keyx"
    keyfile.parent.mkdir()
    keyfile.write_bytes(b"0123456789abcdef" * 4)
    spec = samples.Spec("Core router (Cisco)", "10.0.0.1", "admin", "cisco_ios")
    db = create_database(str(tmp_path / "export" / "vault.kdbx"), password=None, keyfile=str(keyfile))
    db.add_entry(db.add_group(db.root_group, "Contoso"), spec.title, spec.username, spec.password, url=spec.url)
    db.save()
    out = tmp_path / "export" / "inv.yaml"
    res = run_cli("import", tmp_path / "export" / "vault.kdbx", "--keyfile", keyfile, "-o", out)
    assert res.exit_code == 0, res.stderr
    inventory = load_inventory(out, ProfileRegistry())
    assert inventory.case.sources["kdbx"].keyfile == Path("vault.keyx")  # beside the inventory: relative
    target = inventory.targets[0]
    resolver = SecretResolver(environ={}, base_dir=out.parent, sources=inventory.case.sources)
    assert target.password is not None
    assert resolver.resolve(target.password, "x").reveal() == spec.password
    assert_no_secrets(out, [str(spec.password)])
