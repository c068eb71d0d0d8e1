"""Directory driver: prove a credential against an Active Directory domain controller (ldap3).

One target = one LDAP connection, read-only throughout (``read_only=True`` makes ldap3 itself
refuse any write). The order matters for the evidence:

1. TCP + TLS (LDAPS, or StartTLS on 389). The DC's certificate chain is recorded and judged
   (pin, system CAs, or ``allow_self_signed``) *before* the bind: a mismatch ends the target
   as ``certificate_mismatch`` and the password is never sent.
2. RootDSE, read anonymously (server facts and clock, even when the bind then fails).
3. Simple bind with the credential. A refusal is ``auth_failed`` with AD's data code in words.
4. Who am I (RFC 4532) when the DC advertises it, the session's ``tokenGroups`` on the RootDSE
   (Samba 4.17 lacks Who-am-I), the domain SID, the account's own entry and ``tokenGroups``,
   group names. ``login_ok`` when the session token holds the expected group SIDs.

Everything said on the wire (never the password) goes into a timestamped text transcript and a
JSON record of the same operations.
"""

from __future__ import annotations

import functools
import json
import math
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.ad_account import AccountLookups
from evidence_kit.drivers.ad_tables import (
    AD_DATA_CODES,
    PASSWORD_MATCHED_CODES,
    data_code,
    decode_value,
    default_group_name,
    parse_generalized_time,
)
from evidence_kit.drivers.base import Driver, Ending, RunOptions, TargetEnded, TargetJob, end
from evidence_kit.drivers.ldap_transcript import Transcript
from evidence_kit.drivers.tls import info_from_socket, judge_and_record, verify_chain
from evidence_kit.profiles.directory import (
    DEFAULT_PORTS,
    TRANSPORTS,
    DirectoryProfile,
    DirectoryTarget,
    normalise_group,
)
from evidence_kit.route.bridge import LocalForward
from evidence_kit.route.dial import OpenRoute, RouteDialer

if TYPE_CHECKING:
    from ldap3 import Connection

RECORD_FORMAT = "evidence-kit-ldap/1"
WHOAMI_OID = "1.3.6.1.4.1.4203.1.11.3"
ANONYMOUS_SID = "S-1-5-7"



@dataclass
class _Settings:
    transport: str
    endpoints: list[tuple[str, int]]
    connect_timeout: float
    auth_timeout: float
    command_timeout: float
    expected: list[str]
    expected_match: str
    privileged: list[str]


DirectoryJob = TargetJob[DirectoryTarget, DirectoryProfile]


def _settings(job: DirectoryJob) -> _Settings:
    target, profile = job.target, job.profile
    transport = (target.transport or profile.transport).lower()
    if transport not in TRANSPORTS:
        end(Outcome.ERROR, f"transport {transport!r} is not one of {', '.join(TRANSPORTS)}")
    default_port = target.port or DEFAULT_PORTS[transport]
    names = [target.host] if target.host else (list(target.dcs) or [target.domain or ""])
    endpoints = []
    for name in names:
        host, sep, port = name.rpartition(":") if name.count(":") == 1 else ("", "", "")
        endpoints.append((host, int(port)) if sep and port.isdigit() else (name, default_port))
    # The inventory's timeouts win only where it set them; otherwise the profile's defaults.
    given = target.timeouts.model_fields_set
    pick = lambda f: getattr(target.timeouts if f in given else profile.timeouts, f)  # noqa: E731
    expected = profile.expected
    if target.expected:
        try:
            expected = [normalise_group(p) for p in target.expected.split(",") if p.strip()]
        except ValueError as exc:
            end(Outcome.ERROR, f"target field 'expected': {exc}")
    return _Settings(transport, endpoints, pick("connect"), pick("auth"), pick("command"),
                     expected, profile.expected_match, profile.privileged_groups)


def _is_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.timeout | TimeoutError) or "timed out" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass
class _Capture(AccountLookups):
    job: DirectoryJob
    settings: _Settings
    transcript: Transcript = field(default_factory=Transcript)
    record: dict[str, Any] = field(default_factory=dict)
    conn: Connection | None = None
    routes: RouteDialer | None = None  # jump hosts / proxy (evidence_kit/route/): ldap3 gets a local forward
    route: OpenRoute | None = None
    forward: LocalForward | None = None

    # -- the steps ---------------------------------------------------------------------------
    def run(self) -> Ending:
        s = self.settings
        self.record.update({
            "format": RECORD_FORMAT, "target": self.job.target.name, "profile": self.job.profile.name,
            "transport": s.transport, "plain_ldap": s.transport == "ldap",
            "bind_name": self.job.target.username, "read_only": True,
        })
        password = self.job.session.secret("password")
        if password is None or not password.reveal():
            # An LDAP simple bind with an empty password is an *unauthenticated* bind that
            # succeeds anonymously on AD: it would "prove" nothing, so it is never sent.
            end(Outcome.ERROR, "empty password: an LDAP simple bind with it would be anonymous")
        if s.transport == "ldap":
            self.transcript.note("transport 'ldap' chosen explicitly by the inventory: no encryption, "
                                 "the bind password crosses the network in clear")
        if self.routes is not None and self.job.target.route is not None and not self.job.target.route.direct:
            self.route = self.routes.open(self.job.session, self.job.target.route, self.job.target.timeouts)
        self._connect()
        if s.transport != "ldap":
            self._check_certificate()
        rootdse = self._read_rootdse()
        self._bind(password.reveal())
        return self._prove(rootdse)

    def _connect(self) -> None:
        from ldap3 import SIMPLE, SYNC, Connection, Server, Tls
        from ldap3.core.exceptions import LDAPException

        s = self.settings
        last: tuple[Outcome, str] = (Outcome.UNREACHABLE, "no domain controller to try")
        for host, port in s.endpoints:
            started = time.monotonic()
            tls = Tls(validate=ssl.CERT_NONE, sni=host if _is_name(host) else None)
            dial_host, dial_port = host, port
            if self.route is not None:
                # ldap3 cannot dial through a hop: it gets this one routed connection on a local
                # port; the TLS server name and the certificate check stay the DC's (sni above).
                try:
                    routed = self.route.connect(host, port)
                except TargetEnded as ended:
                    last = (ended.ending.outcome, ended.ending.detail)
                    continue
                if self.forward is not None:
                    self.forward.close()
                self.forward = LocalForward(functools.partial(_given, routed), (host, port))
                dial_host, dial_port = "127.0.0.1", self.forward.port
            server = Server(dial_host, port=dial_port, use_ssl=s.transport == "ldaps", tls=tls, get_info=None,
                            connect_timeout=s.connect_timeout)
            # ldap3 packs receive_timeout into SO_RCVTIMEO as whole seconds: it must be an int.
            # The password is set only just before the bind, after the certificate was accepted.
            conn = Connection(server, user=self.job.target.username, authentication=SIMPLE,
                              client_strategy=SYNC, read_only=True, auto_bind=False,
                              receive_timeout=max(1, math.ceil(s.connect_timeout)), raise_exceptions=False,
                              auto_referrals=False)
            self.job.session.on_cancel(functools.partial(_close_socket, conn))  # a stopped run ends I/O at once
            request = {"dc": f"{host}:{port}", "transport": s.transport,
                       **({"via": f"local forward {self.forward.address} through the route"} if self.forward else {})}
            step = "connect"
            try:
                conn.open()
                peer = conn.socket.getpeername() if conn.socket else None
                result = {"ok": True, "peer": f"{peer[0]}:{peer[1]}" if peer else None}
                self.transcript.op("connect", request, result, started)
                if s.transport == "starttls":
                    step, started = "starttls", time.monotonic()
                    ok = conn.start_tls(read_server_info=False)
                    self.transcript.op("starttls", {"oid": "1.3.6.1.4.1.1466.20037"},
                                       _result(conn.result) if conn.result else {"ok": ok}, started)
                    if not ok:
                        end(Outcome.ERROR, f"StartTLS refused by {host}:{port}: {_describe(conn.result)}")
            except LDAPException as exc:
                text = str(exc)
                if _is_timeout(exc):
                    outcome = Outcome.TIMEOUT
                elif "ssl" in text.lower() or step == "starttls":
                    outcome = Outcome.ERROR  # reached, but no TLS session: not "unreachable"
                else:
                    outcome = Outcome.UNREACHABLE
                self.transcript.op(step, request, {"error": f"{type(exc).__name__}: {text}"}, started)
                self.job.session.event("connect_failed", {**request, "error": text, "outcome": outcome.value})
                last = (outcome, f"{host}:{port}: {text}")
                _close(conn)
                continue
            except TargetEnded:
                _close(conn)
                raise
            self.job.session.event("connected", {**request, **result})
            self.record["dc"] = {"host": host, "port": port, "address": result["peer"]}
            self.conn = conn
            return
        end(*last)

    def _check_certificate(self) -> None:
        assert self.conn is not None and self.conn.socket is not None
        target, session = self.job.target, self.job.session
        host, port = self.record["dc"]["host"], self.record["dc"]["port"]
        started = time.monotonic()
        sock = self.conn.socket
        info = info_from_socket(sock, host, port, host if _is_name(host) else None, verified=False)
        info.verified, info.verify_error = verify_chain(info.chain_der, host)
        decision, facts = judge_and_record(session, info, target.certificate, target.allow_self_signed,
                                           "dc-certificate-chain.pem")
        self.record["tls"] = facts
        leaf = facts["chain"][0] if facts["chain"] else {}
        self.transcript.op("tls", {"dc": f"{host}:{port}"}, {
            "protocol": info.protocol, "cipher": info.cipher, "leaf_sha256": info.leaf_sha256,
            "subject": leaf.get("subject"), "issuer": leaf.get("issuer"), "trust": decision.basis,
        }, started)
        if not decision.accepted:
            self.transcript.note("bind NOT attempted: the certificate was not accepted, "
                                 "the password was not sent")
            end(Outcome.CERTIFICATE_MISMATCH, decision.reason)

    def _read_rootdse(self) -> dict[str, list[Any]]:
        profile = self.job.profile
        assert isinstance(profile, DirectoryProfile)
        self._timeout(self.settings.command_timeout)
        entries = self._search("", "(objectClass=*)", "BASE", profile.rootdse_attributes, label="rootdse")
        attrs = entries[0]["attributes"] if entries else {}
        self.record["rootdse"] = attrs
        facts = {k: (v[0] if len(v) == 1 else v) for k, v in attrs.items()}
        server_time = parse_generalized_time(str(facts.get("currentTime", "")))
        if server_time is not None:
            offset = (server_time - datetime.now(UTC)).total_seconds()
            facts["clock_offset_seconds"] = round(offset, 1)
            self.record["clock_offset_seconds"] = round(offset, 1)
        self.job.session.event("rootdse", facts)
        return attrs

    def _bind(self, password: str) -> None:
        from ldap3.core.exceptions import LDAPException

        assert self.conn is not None
        conn, name = self.conn, self.job.target.username
        conn.password = password
        self._timeout(self.settings.auth_timeout)
        request = {"method": "simple", "name": name, "password": "[not recorded]"}
        started = time.monotonic()
        try:
            ok = conn.bind()
        except LDAPException as exc:
            outcome = Outcome.TIMEOUT if _is_timeout(exc) else Outcome.ERROR
            self.transcript.op("bind", request, {"error": f"{type(exc).__name__}: {exc}"}, started)
            end(outcome, f"bind: {exc}")
        finally:
            conn.password = None  # ldap3 keeps it for re-binds we never do
        result = _result(conn.result)
        code = data_code(result.get("message", "")) if not ok else None
        if code:
            result["ad_data_code"] = code
            result["ad_meaning"] = AD_DATA_CODES.get(code, "unknown AD data code")
            result["password_matched"] = code in PASSWORD_MATCHED_CODES
        self.transcript.op("bind", request, result, started)
        self.job.session.event("bind", {"name": name, "ok": ok, **result})
        self.record["bind"] = {"ok": ok, **result}
        if ok:
            return
        if result.get("description") == "invalidCredentials":
            words = AD_DATA_CODES.get(code or "", "invalid credentials")
            suffix = f" (AD data {code})" if code else ""
            if code in PASSWORD_MATCHED_CODES:
                suffix += "; the password itself was accepted"
            end(Outcome.AUTH_FAILED, f"bind refused: {words}{suffix}")
        end(Outcome.ERROR, f"bind refused: {_describe(conn.result)}")

    def _prove(self, rootdse: dict[str, list[Any]]) -> Ending:
        session = self.job.session
        s = self.settings
        self._timeout(s.command_timeout)
        whoami = self._whoami(rootdse)
        token = self._token_groups()
        if ANONYMOUS_SID in token:
            end(Outcome.ERROR, "bind succeeded but the session is anonymous")
        naming = str(rootdse.get("defaultNamingContext", [""])[0])
        domain_sid = self._domain_sid(naming)
        account = self._account(naming, whoami, token)
        if not token:
            # No session token on the RootDSE: fall back to the account's own (same groups,
            # computed from the directory rather than from this session).
            token = list(account.get("tokenGroups", []))
            self.record["groups_from"] = "account tokenGroups"
            self.transcript.note("the session's tokenGroups were not readable: using the account's tokenGroups")
            if not token:
                end(Outcome.ERROR, "bind succeeded but neither the session's nor the account's "
                                           "tokenGroups could be read")
        else:
            self.record["groups_from"] = "session tokenGroups (RootDSE)"
        names = self._group_names(naming, token, domain_sid)
        groups = [{"sid": sid, "name": names.get(sid)} for sid in token]
        self.record["token_groups"] = groups

        def resolve(ref: str) -> str | None:
            if ref.startswith("RID:"):
                return f"{domain_sid}-{ref[4:]}" if domain_sid else None
            return ref

        privileged = []
        for ref in s.privileged:
            sid = resolve(ref)
            privileged.append({"group": ref, "sid": sid, "name": names.get(sid or "") or default_group_name(ref),
                               "held": bool(sid and sid in token)})
        expected = [{"group": ref, "sid": resolve(ref), "held": resolve(ref) in token} for ref in s.expected]
        held = [e["held"] for e in expected]
        satisfied = all(held) if s.expected_match == "all" else any(held)
        privilege = {"expected": expected, "match": s.expected_match, "satisfied": satisfied,
                     "privileged_groups": privileged, "domain_sid": domain_sid}
        self.record["privilege"] = privilege
        session.event("privilege", privilege)
        held_names = [p["name"] for p in privileged if p["held"]]
        acct_name = (account.get("userPrincipalName") or account.get("sAMAccountName")
                     or self.job.target.username)
        session.set_identity(
            account=acct_name, account_dn=account.get("dn"), account_sid=account.get("objectSid"),
            whoami=whoami, dc=self._first(rootdse, "dnsHostName"), domain_sid=domain_sid,
            privilege=", ".join(str(n) for n in held_names) or "none of the privileged groups",
        )
        exp_text = (" and " if s.expected_match == "all" else " or ").join(
            str(names.get(str(e["sid"])) or default_group_name(str(e["group"]))) for e in expected)
        if satisfied:
            return Ending(Outcome.LOGIN_OK, f"bound as {acct_name}; session token holds {exp_text}")
        return Ending(Outcome.LOGIN_LIMITED, f"bound as {acct_name}, but the session token lacks {exp_text}")

    def _whoami(self, rootdse: dict[str, list[Any]]) -> str | None:
        assert self.conn is not None
        advertised = [str(v) for v in rootdse.get("supportedExtension", [])]
        if rootdse and WHOAMI_OID not in advertised:
            self.transcript.note("Who am I? (RFC 4532) not advertised in supportedExtension: "
                                 "identity taken from the session's tokenGroups instead")
            self.record["whoami"] = None
            return None
        started = time.monotonic()
        self.conn.extended(WHOAMI_OID)
        result = _result(self.conn.result)
        value = self.conn.result.get("responseValue") if self.conn.result else None
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        authzid = str(value) if value else None
        result["authzid"] = authzid
        self.transcript.op("whoami", {"oid": WHOAMI_OID}, result, started)
        ok = result.get("result") == 0
        self.record["whoami"] = authzid if ok else None
        if ok:
            self.job.session.event("whoami", {"authzid": authzid})
        return authzid if ok else None

    # -- helpers -----------------------------------------------------------------------------
    def _search(self, base: str, flt: str, scope: str, attributes: list[str], label: str,
                show_filter: str | None = None) -> list[dict[str, Any]]:
        from ldap3 import BASE, SUBTREE
        from ldap3.core.exceptions import LDAPException

        assert self.conn is not None
        started = time.monotonic()
        request = {"what": label, "base": base, "scope": scope.lower(), "filter": show_filter or flt,
                   "attributes": attributes}
        try:
            self.conn.search(base, flt, BASE if scope == "BASE" else SUBTREE, attributes=attributes,
                             size_limit=500)
        except LDAPException as exc:
            self.transcript.op("search", request, {"error": f"{type(exc).__name__}: {exc}"}, started)
            end(Outcome.TIMEOUT if _is_timeout(exc) else Outcome.ERROR, f"search ({label}): {exc}")
        entries = []
        for item in self.conn.response or []:
            if item.get("type") != "searchResEntry":
                continue
            raw = item.get("raw_attributes", {})
            attrs = {k: [decode_value(k, v) for v in vals] for k, vals in raw.items() if vals}
            entries.append({"dn": item.get("dn", ""), "attributes": attrs})
        self.transcript.op("search", request, {**_result(self.conn.result), "entries": len(entries)}, started,
                           entries)
        return entries

    def _timeout(self, seconds: float) -> None:
        if self.conn is not None and self.conn.socket is not None:
            self.conn.socket.settimeout(seconds)

    @staticmethod
    def _first(attrs: dict[str, list[Any]], name: str) -> Any:
        values = attrs.get(name) or [None]
        return values[0]

    def close(self) -> None:
        if self.conn is not None:
            started = time.monotonic()
            _close(self.conn)
            self.transcript.op("unbind", {}, {"ok": True}, started)
            self.conn = None
        if self.forward is not None:
            self.forward.close()
        if self.route is not None:
            self.route.close()


def _is_name(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        return False
    except OSError:
        return True


def _close(conn: Connection) -> None:
    try:
        conn.unbind()
    except Exception:  # noqa: S110 - closing a dead connection must not hide the outcome
        pass


def _given(sock: Any, host: str, port: int) -> Any:
    """The local forward's dial: the connection the route already made (route_connected)."""
    return sock


def _close_socket(conn: Connection) -> None:
    if conn.socket is not None:
        conn.socket.close()


def _result(result: dict[str, Any] | None) -> dict[str, Any]:
    if not result:
        return {}
    out = {"result": result.get("result"), "description": result.get("description")}
    if result.get("message"):
        out["message"] = result["message"]
    return out


def _describe(result: dict[str, Any] | None) -> str:
    if not result:
        return "no response"
    text = f"{result.get('description')} ({result.get('result')})"
    return f"{text}: {result['message']}" if result.get("message") else text


class DirectoryDriver(Driver[DirectoryTarget, DirectoryProfile]):
    def __init__(self, options: RunOptions) -> None:
        super().__init__(options)
        self.routes = RouteDialer()

    def close(self) -> None:
        self.routes.close()

    def capture(self, job: DirectoryJob) -> Ending:
        run = _Capture(job, _settings(job), routes=self.routes)
        try:
            ending = run.run()
        except TargetEnded as ended:
            ending = ended.ending
        except Exception as exc:  # failures are evidence: keep the transcript so far
            ending = Ending(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
        finally:
            run.close()
        run.record["outcome"] = {"outcome": ending.outcome.value, "detail": ending.detail}
        run.transcript.note(f"outcome: {ending.outcome.value}: {ending.detail}")
        job.session.add_artifact("ldap-transcript.txt", run.transcript.text().encode(),
                                 kind="ldap_transcript", media_type="text/plain; charset=utf-8")
        body = {**run.record, "operations": run.transcript.operations}
        job.session.add_artifact("ldap-record.json", json.dumps(body, indent=2, default=str).encode() + b"\n",
                                 kind="ldap_record", media_type="application/json")
        return ending
