"""Rules and mapping: which profile an entry gets, what fields it takes from the URL, and why an
entry is left for review. Entries are built directly (the formats are tested elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_kit.errors import InputError
from evidence_kit.importers.interface import Entry, Record, finish
from evidence_kit.importers.mapping import Decision, Mapper
from evidence_kit.importers.rules import RuleSet
from evidence_kit.importers.urls import place_of
from evidence_kit.profiles import ProfileRegistry

REGISTRY = ProfileRegistry()


def decide(title: str, url: str = "", category: str = "", username: str = "admin", rules: Path | None = None,
           **extra: object) -> Decision:
    secret_fields = extra.pop("secret_fields", ("password",))
    entry = Entry(id="42", title=title, url=url, category=category, username=username,
                  secret_fields=secret_fields, **extra)  # type: ignore[arg-type]
    return Mapper(RuleSet.load(rules, REGISTRY), REGISTRY, "itglue", "IT Glue passwords.csv").decide(entry)


@pytest.mark.parametrize(("title", "url", "category", "profile"), [
    ("Registrar", "https://www.godaddy.com/", "", "godaddy_web"),
    ("DNS", "https://sso.godaddy.com/login", "", "godaddy_web"),
    ("Domains", "https://ap.www.namecheap.com/", "", "namecheap_web"),
    ("DNS and CDN", "https://dash.cloudflare.com/", "", "cloudflare_web"),
    ("GoDaddy account", "", "", "godaddy_web"),
    ("Tenant", "https://login.microsoftonline.com/", "", "microsoft_365_web"),
    ("Admin portal", "https://admin.microsoft.com/Adminportal", "", "microsoft_365_web"),
    ("O365 global admin", "", "Cloud", "microsoft_365_web"),
    ("AWS root", "https://123456789012.signin.aws.amazon.com/console", "", "aws_console_web"),
    ("Edge firewall", "https://10.0.0.1", "pfSense", "pfsense_web"),
    ("pfSense console", "ssh://10.0.0.1", "", "pfsense"),
    ("FortiGate 100F", "https://fw.example:8443", "", "fortigate_web"),
    ("FortiGate 100F CLI", "ssh://fw.example", "", "fortinet"),
    ("MikroTik CCR", "10.0.0.2", "", "mikrotik_routeros"),
    ("MikroTik CCR WebFig", "http://10.0.0.2", "", "mikrotik_webfig"),
    ("Core", "10.0.0.3", "Cisco Catalyst", "cisco_ios"),
    ("ASA 5516", "10.0.0.4", "Firewall", "cisco_asa"),
    ("Nexus 9k", "10.0.0.5", "", "cisco_nxos"),
    ("SRX 300", "10.0.0.6", "", "juniper_junos"),
    ("Aruba 2930F", "10.0.0.7", "Switch", "hp_procurve"),
    ("Synology NAS", "https://nas:5001", "", "synology_dsm_web"),
    ("UniFi controller", "https://unifi:8443", "", "unifi_web"),
    ("Domain admin", "dc1.corp.example", "", "active_directory"),
    ("Backup account", "ldaps://dc2.corp.example", "", "active_directory"),
    ("App server", "ssh://app01.example", "", "linux"),
    ("App server", "app01.example", "Linux Server", "linux"),
])
def test_built_in_rules(title: str, url: str, category: str, profile: str) -> None:
    d = decide(title, url, category, username="admin@corp.example")
    assert d.mapped, d.reason
    assert d.profile == profile


@pytest.mark.parametrize(("title", "url", "category", "reason"), [
    ("Printer", "https://10.0.0.9", "", "no rule matches"),
    ("Old switch", "10.0.0.2", "Network Switch", "network device whose vendor no rule recognises"),
    ("Gandi", "https://gandi.net", "Domain Registrar", "domain registrar without a built-in profile"),
    ("Cisco spare", "", "", "cisco_ios: field 'host' is required for ssh profile 'cisco_ios' (the entry's URL"),
    ("pfSense", "", "", "pfsense_web: field 'url' is required"),
])
def test_left_for_review_with_the_reason(title: str, url: str, category: str, reason: str) -> None:
    d = decide(title, url, category)
    assert not d.mapped and d.reason.startswith(reason), d.reason


def test_what_an_entry_lacks_is_the_reason() -> None:
    assert decide("Cisco core", "10.0.0.1", username="").reason == "cisco_ios: no user name in the source"
    assert decide("Cisco core", "10.0.0.1", secret_fields=("totp",)).reason == "cisco_ios: no password in the source"
    assert decide("Cisco core", "10.0.0.1", secret_fields=()).reason == "no password or other secret in the source"
    assert decide("Cisco core", "10.0.0.1", archived=True).reason.startswith("archived")
    assert decide("Cisco core", "10.0.0.1", login=False, kind="secure note").reason == "not a login (secure note)"


def test_fields_from_the_url() -> None:
    ssh = decide("Cisco core", "ssh://admin@10.0.0.1:2222/").target
    assert (ssh["host"], ssh["port"]) == ("10.0.0.1", 2222)
    bare = decide("Cisco core", "core-sw01:2200").target
    assert (bare["host"], bare["port"]) == ("core-sw01", 2200)
    gui_port = decide("Cisco core", "https://10.0.0.1:8443/").target  # the web GUI's port is not SSH's
    assert gui_port["host"] == "10.0.0.1" and "port" not in gui_port
    web = decide("pfSense", "10.0.0.254").target  # a bare host for a web profile gets https://
    assert web["url"] == "https://10.0.0.254/"
    ad = decide("Domain Admin", "", username="admin@Corp.Example").target
    assert ad["domain"] == "corp.example" and "host" not in ad
    assert not decide("Domain Admin", "", username="CORP\\admin").mapped
    m365 = decide("M365", "https://admin.microsoft.com/").target
    assert "url" not in m365  # the profile has its sign-in page (default_url)
    assert m365["password"] == "itglue:42/password"


def test_custom_secret_fields() -> None:
    d = decide("Cisco core", "10.0.0.1", secret_fields=("password", "totp", "fields/Enable secret", "fields/SNMP key"))
    t = d.target
    assert t["enable_secret"] == "itglue:42/fields/Enable secret"
    assert t["totp"] == "itglue:42/totp"
    assert t["secrets"] == {"snmp_key": "itglue:42/fields/SNMP key"}
    web = decide("pfSense", "https://fw", secret_fields=("password", "fields/Enable secret")).target
    assert "enable_secret" not in web and web["secrets"] == {"enable_secret": "itglue:42/fields/Enable secret"}


def test_names_are_unique_and_valid() -> None:
    mapper = Mapper(RuleSet.load(None, REGISTRY), REGISTRY, "bitwarden", "Bitwarden")
    names = [mapper.decide(Entry(id=str(i), title=t, url="ssh://h", username="u", secret_fields=("password",)))
             .target["name"] for i, t in enumerate(["Core router", "Core router", "Core  Router!", "", "ü"])]
    assert names[:3] == ["core-router", "core-router-2", "core-router-3"]
    assert names[3].startswith("bitwarden-") and len(set(names)) == 5


def test_user_rules_come_first(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n"
                     "  - {profile: sonicwall_web, title: '^Edge$'}\n"
                     "  - {review: 'printers are out of scope', host: ['10.0.9.*']}\n"
                     "  - {profile: linux, folder: '^Servers/', scheme: [none]}\n")
    assert decide("Edge", "https://10.0.0.1", "pfSense", rules=rules).profile == "sonicwall_web"
    assert decide("Printer", "https://10.0.9.3", rules=rules).reason == "printers are out of scope"
    assert decide("Box", "box01", folder="Servers/Linux", rules=rules).profile == "linux"
    assert decide("Box", "box01", folder="Office", rules=rules).reason.startswith("no rule matches")


@pytest.mark.parametrize(("text", "words"), [
    ("rules:\n  - {profile: linux}\n", ["needs at least one condition"]),
    ("rules:\n  - {profile: linux, review: x, title: a}\n", ["either 'profile' or 'review'"]),
    ("rules:\n  - {profile: linux, title: '(unclosed'}\n", ["invalid regular expression"]),
    ("rules:\n  - {profile: linux, colour: blue}\n", ["colour", "is not a known field"]),
    ("- just a list\n", ["a mapping with 'rules:'"]),
    ("rules: [\n", ["YAML syntax error"]),
])
def test_bad_rules_files(tmp_path: Path, text: str, words: list[str]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    with pytest.raises(InputError) as info:
        RuleSet.load(rules, REGISTRY)
    assert info.value.one_line().startswith(str(rules))
    for word in words:
        assert word in info.value.one_line()


def test_a_secret_in_a_text_field_is_blanked() -> None:
    pw = "Correct-Horse-9"
    entry = finish(Record(Entry(id="1", title=f"Router (pw {pw})", url=f"https://admin:{pw}@10.0.0.1/x?k={pw}",
                                notes=f"old: {pw}"), {"password": pw, "totp": ""}))
    assert pw not in repr(entry) and entry.secret_fields == ("password",)
    assert set(entry.redacted) == {"title", "url", "notes"}
    place = place_of(entry.url)
    assert place.host == "10.0.0.1"
    d = Mapper(RuleSet.load(None, REGISTRY), REGISTRY, "x", "X").decide(entry)
    assert pw not in str(d.target)


def test_places() -> None:
    assert place_of("").host == "" and place_of("not a url at all").host == ""
    assert place_of("https://[2001:db8::1]:8443/a").host == "2001:db8::1"
    assert place_of("https://[2001:db8::1]:8443/a").url() == "https://[2001:db8::1]:8443/a"
    assert place_of("host:notaport").host == ""
    assert place_of("SSH://Router.Example").scheme == "ssh"
    assert place_of("\\\\server\\share").host == ""
