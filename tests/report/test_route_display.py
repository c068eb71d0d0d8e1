"""The report's one-line identity of a target says how it was reached (evidence_kit/route/)."""

from __future__ import annotations

from evidence_kit.report.targets import identity_short


def test_summary_line_names_the_route_and_telnet() -> None:
    routed = {"host_key": "SHA256:" + "A" * 43, "account": "admin", "mode": "enable",
              "route": "hop jump1 (10.0.0.5:22, SHA256:" + "B" * 43 + ", match) -> 10.2.0.1:22",
              "route_via": "proxy socks5://127.0.0.1:1080 -> hop jump1", "route_destination": "10.2.0.1:22"}
    line = identity_short(routed)
    assert "via proxy socks5://127.0.0.1:1080 -> hop jump1" in line and "account admin" in line
    telnet = {"transport": "telnet", "credential_in_clear": True, "account": "admin", "mode": "user"}
    assert "transport telnet" in identity_short(telnet)
    assert "via" not in identity_short({"host_key": "SHA256:" + "A" * 43})  # direct: nothing about a route
