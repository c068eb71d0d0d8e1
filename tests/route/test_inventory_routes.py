"""Routes in the inventory (evidence_kit/route/build.py): every bad input is one line naming the file,
the hop/proxy/target and the field (or the ssh_config file, line and directive); exit 2; nothing
captured. Good inventories resolve to the route the drivers will take."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evidence_kit.inventory import load_inventory
from evidence_kit.profiles import ProfileRegistry
from evidence_kit.route.model import Route
from evidence_kit.secrets import SecretRef

CASE = "case: {client: Contoso, provider: MSP, technician: J. Doe}\n"
HOP = "{host: 10.0.0.5, username: ops, password: env:HOP_PW}"
TARGET = "{name: r1, profile: cisco_ios, host: 10.1.0.1, username: admin, password: env:PW"
ALIAS_TARGET = "{name: r1, profile: cisco_ios, host: r1, username: admin, password: env:PW"


def inventory(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(CASE + body)
    return path


def ssh_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ssh_config"
    path.write_text(text)
    return path


BAD = {
    "unknown-hop": ("hops: {bastion: " + HOP + "}\ntargets:\n  - " + TARGET + ", via: bastoin}\n",
                    ["line 4", "target 'r1' field 'via'", "unknown hop 'bastoin'", "hops: bastion"]),
    "hop-via-unknown": ("hops:\n  a: {host: h, username: u, password: env:P, via: zz}\ntargets:\n  - " + TARGET + "}\n",
                        ["hop 'a' field 'via'", "unknown hop 'zz'", "line 3"]),
    "loop": ("hops:\n  a: {host: h, username: u, password: env:P, via: b}\n"
             "  b: {host: h, username: u, password: env:P, via: a}\ntargets:\n  - " + TARGET + ", via: a}\n",
             ["hop 'a' field 'via'", "loop in the chain of hops (a -> b -> a)"]),
    "proxy-url-scheme": ("proxies: {p: {url: 'ftp://10.0.0.9:21'}}\ntargets:\n  - " + TARGET + ", proxy: p}\n",
                         ["proxy 'p' field 'url'", "socks5://", "http://", "line 2"]),
    "proxy-url-garbage": ("targets:\n  - " + TARGET + ", proxy: 'socks5://h:notaport'}\n",
                          ["target 'r1' field 'proxy'", "not a proxy URL"]),
    "proxy-url-credentials": ("targets:\n  - " + TARGET + ", proxy: 'socks5://me:Hunter2-literal@h:1080'}\n",
                              ["target 'r1' field 'proxy'", "carries credentials"]),
    "unknown-proxy": ("targets:\n  - " + TARGET + ", proxy: office}\n", ["unknown proxy 'office'"]),
    "hop-without-credential": ("hops: {a: {host: h, username: u}}\ntargets:\n  - " + TARGET + ", via: a}\n",
                               ["hop 'a'", "needs password, key_file or key: agent"]),
    "hop-literal-password": ("hops: {a: {host: h, username: u, password: 'Hunter2-literal!'}}\ntargets:\n  - "
                             + TARGET + ", via: a}\n", ["hop 'a' field 'password'", "literal secret"]),
    "hop-unknown-field": ("hops: {a: {host: h, username: u, password: env:P, hostkey: x}}\ntargets:\n  - "
                          + TARGET + "}\n", ["hop 'a' field 'hostkey'", "not a known field"]),
    "hop-bad-pin": ("hops: {a: {host: h, username: u, password: env:P, host_key: 'MD5:aa'}}\ntargets:\n  - "
                    + TARGET + "}\n", ["hop 'a' field 'host_key'", "SHA256"]),
    "list-order": ("hops:\n  a: " + HOP + "\n  b: {host: h, username: u, password: env:P, via: a}\n"
                   "  c: " + HOP + "\ntargets:\n  - " + TARGET + ", via: [c, b]}\n",
                   ["target 'r1' field 'via'", "hop 'b' is reached via 'a'", "after 'c'"]),
    "defaults-unknown-hop": ("defaults: {via: nowhere}\ntargets:\n  - " + TARGET + "}\n",
                             ["field 'defaults.via'", "unknown hop 'nowhere'"]),
    "defaults-unknown-field": ("defaults: {via_hop: a}\ntargets:\n  - " + TARGET + "}\n",
                               ["defaults field 'via_hop'", "not a known field"]),
    "ssh-config-missing": ("targets:\n  - " + TARGET + ", ssh_config: no-such-config}\n",
                           ["target 'r1' field 'ssh_config'", "ssh_config file not found", "no-such-config"]),
    "telnet-not-insecure": ("targets:\n  - {name: old, profile: cisco_ios, host: h, username: u, password: env:P,"
                            " transport: telnet}\n", ["target 'old' field 'insecure_telnet'", "in clear"]),
    "telnet-with-key": ("targets:\n  - {name: old, profile: cisco_ios, host: h, username: u, password: env:P,"
                        " transport: telnet, insecure_telnet: true, host_key: 'SHA256:" + "A" * 43 + "'}\n",
                        ["target 'old' field 'host_key'", "means nothing over telnet"]),
    "bad-key-value": ("targets:\n  - {name: r1, profile: linux, host: h, username: u, key: keyring}\n",
                      ["target 'r1' field 'key'", "agent"]),
}

# ssh_config directives that would weaken the checks: refused with the config file, line, directive.
REFUSED = {
    "strict-no": ("Host r1\n    HostName 10.1.0.1\n    StrictHostKeyChecking no\n", 3, "StrictHostKeyChecking no"),
    "forward-agent": ("Host *\n    ForwardAgent yes\n", 2, "ForwardAgent yes"),
    "proxy-command": ("Host r1\n    ProxyCommand nc -x 127.0.0.1:1080 %h %p\n", 2, "ProxyCommand nc"),
    "ciphers": ("Host r1\n  Ciphers +aes128-cbc\n", 2, "Ciphers +aes128-cbc"),
    "kex": ("Host r*\n  KexAlgorithms diffie-hellman-group1-sha1\n", 2, "KexAlgorithms"),
    "host-key-alias": ("Host r1\n  HostKeyAlias other\n", 2, "HostKeyAlias other"),
}


def run_capture(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evidence_kit", "capture", str(path), "--case", str(tmp_path / "case")],
        capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_route_input_is_one_line_exit_2(tmp_path: Path, name: str) -> None:
    body, expected = BAD[name]
    path = inventory(tmp_path, body)
    proc = run_capture(path, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: {path}"), lines[0]
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Hunter2" not in proc.stderr  # a pasted password is never repeated
    assert not (tmp_path / "case").exists()


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsafe_ssh_config_directive_is_refused_naming_file_line_directive(tmp_path: Path, name: str) -> None:
    text, line, directive = REFUSED[name]
    config = ssh_config(tmp_path, text)
    path = inventory(tmp_path, "targets:\n  - " + ALIAS_TARGET + ", ssh_config: ssh_config}\n")
    proc = run_capture(path, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: {config}: line {line}: {directive}"), lines[0]
    assert "host 'r1'" in lines[0]
    assert not (tmp_path / "case").exists()


def test_unsafe_directive_for_another_host_or_overridden_is_not_refused(tmp_path: Path) -> None:
    # ssh_config's first value wins: a per-host 'yes' before 'Host *' 'no' is what ssh uses too.
    ssh_config(tmp_path, "Host r1\n  StrictHostKeyChecking yes\nHost other\n  ProxyCommand nc %h %p\n"
               "Host *\n  StrictHostKeyChecking no\n  ServerAliveInterval 30\n")
    inv = load_inventory(inventory(tmp_path, "targets:\n  - " + ALIAS_TARGET + ", ssh_config: ssh_config}\n"),
                         ProfileRegistry())
    use = inv.targets[0].route.ssh_config
    ignored = {c.directive: c for c in use.ignored}
    assert "strictly" in ignored["StrictHostKeyChecking"].why and ignored["StrictHostKeyChecking"].line == 2
    assert ignored["ServerAliveInterval"].why == "not used by evidence-kit"


def test_hops_chain_defaults_and_secret_labels(tmp_path: Path) -> None:
    path = inventory(tmp_path, """\
hops:
  bastion: {host: 203.0.113.5, username: ops, password: prompt, host_key: 'SHA256:%s'}
  inner: {host: 10.1.0.5, port: 2222, username: ops, key: agent, via: bastion, reuse: false}
proxies:
  office: {url: 'socks5://127.0.0.1:1080', username: me, password: env:SOCKS_PW}
defaults: {via: inner, proxy: office, known_hosts: /tmp/kh}
targets:
  - {name: r1, profile: cisco_ios, host: 10.2.0.1, username: admin, password: env:PW}
  - {name: r2, profile: cisco_ios, host: 10.2.0.2, username: admin, password: env:PW, via: [], proxy: null}
  - {name: r3, profile: linux, host: 10.2.0.3, username: admin, password: env:PW, via: bastion,
     proxy: 'http://127.0.0.1:3128'}
  - {name: r4, profile: linux, host: 10.2.0.4, username: admin, password: env:PW,
     via: [bastion, {host: 10.9.0.1, username: jo, password: env:INLINE}]}
""" % ("A" * 43))
    r1, r2, r3, r4 = load_inventory(path, ProfileRegistry()).targets
    route: Route = r1.route
    assert [h.name for h in route.hops] == ["bastion", "inner"]
    bastion, inner = route.hops
    assert bastion.host_keys.pin == "SHA256:" + "A" * 43 and not bastion.host_keys.known_hosts
    assert inner.host_keys.known_hosts == (Path("/tmp/kh"),) and inner.login.agent and not inner.reuse
    assert route.proxy is not None and route.proxy.url == "socks5://127.0.0.1:1080"
    assert route.summary() == ("proxy socks5://127.0.0.1:1080 -> hop bastion (203.0.113.5:22) "
                               "-> hop inner (10.1.0.5:2222)")
    # Each secret is filed under its own field with a label naming the hop or proxy: one prompt
    # for a hop shared by many targets.
    assert route.secret_refs == {
        "hop:bastion:password": (SecretRef("prompt"), "hop 'bastion' field 'password'"),
        "proxy:office:password": (SecretRef("env", "SOCKS_PW"), "proxy 'office' field 'password'"),
    }
    assert r1.known_hosts == Path("/tmp/kh")  # defaults fill target fields too
    assert r2.route.direct
    assert [h.name for h in r3.route.hops] == ["bastion"] and r3.route.proxy.url == "http://127.0.0.1:3128"
    assert [h.name for h in r4.route.hops] == ["bastion", "jo@10.9.0.1:22"]
    assert r4.route.secret_refs["hop:r4/jo@10.9.0.1:22:password"] == (
        SecretRef("env", "INLINE"), "target 'r4' hop 'jo@10.9.0.1:22' field 'password'")


def test_one_prompt_for_a_hop_shared_by_many_targets(tmp_path: Path) -> None:
    from evidence_kit.capture import resolve_secrets
    from evidence_kit.secrets import SecretResolver

    rows = "".join(f"  - {{name: r{i}, profile: linux, host: 10.2.0.{i}, username: u, password: env:PW}}\n"
                   for i in range(5))
    inv = load_inventory(inventory(tmp_path, "hops: {bastion: {host: h, username: u, password: prompt}}\n"
                                   "defaults: {via: bastion}\ntargets:\n" + rows), ProfileRegistry())
    asked: list[str] = []
    resolver = SecretResolver(prompt=lambda label: asked.append(label) or "typed-once", environ={"PW": "x"})
    secrets = resolve_secrets(inv, inv.targets, resolver)
    assert asked == ["hop 'bastion' field 'password': "]
    assert {s["hop:bastion:password"].reveal() for s in secrets.values()} == {"typed-once"}


def test_a_kind_without_routes_is_not_silently_sent_direct(tmp_path: Path) -> None:
    """defaults.via cannot apply to an RDP target (its driver cannot go through hops yet): refused,
    unless the target opts out with via: [] and connects directly, as it says."""
    hops = "hops: {bastion: " + HOP + "}\ndefaults: {via: bastion}\n"
    rdp = "{name: desk, profile: windows_rdp, host: 10.1.0.9, username: jo, password: env:PW"
    path = inventory(tmp_path, hops + "targets:\n  - " + rdp + "}\n")
    proc = run_capture(path, tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "target 'desk' field 'via': its kind cannot go through hops or proxies" in proc.stderr
    assert "set via: [] on it" in proc.stderr
    inv = load_inventory(inventory(tmp_path, hops + "targets:\n  - " + rdp + ", via: []}\n"), ProfileRegistry())
    assert inv.targets[0].name == "desk"
