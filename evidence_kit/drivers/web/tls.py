"""The server's certificate, checked three times before a secret can reach the server.

1. :meth:`ServerCertificate.handshake`: our own TLS handshake before the browser opens records
   the chain and makes the one trust decision every TLS driver makes (evidence_kit/drivers/tls.py:
   pin, system trust or the target's allowance). A refused certificate ends the target with
   nothing loaded or typed.
2. :meth:`ServerCertificate.after_first_goto`: the certificate the browser itself got (over
   CDP) must be the one we checked, or a pin must still match.
3. :meth:`ServerCertificate.before_secret`: the last moment to refuse, right before typing.

It holds what it learned (the handshake's :class:`TlsInfo`, the browser's leaf) for the
navigation record (evidence.py).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from typing import Any
from urllib.parse import urlsplit

from evidence_kit.case.outcome import Outcome
from evidence_kit.drivers.base import end
from evidence_kit.drivers.tls import TlsInfo, cert_sha256, check_pin, fetch_chain, judge
from evidence_kit.drivers.web.state import TargetConfig, journal
from evidence_kit.route.bridge import BrowserRoute


class ServerCertificate:
    """One target's server certificate: the handshake's, the browser's, and the checks on them."""

    def __init__(self, config: TargetConfig) -> None:
        self.config = config
        self.info: TlsInfo | None = None  # our handshake's chain (https only)
        self.browser_leaf: str | None = None  # SHA-256 of the leaf the browser got
        self._cdp: Any = None
        self.route: BrowserRoute | None = None  # set by login.py when the site is behind hops/a proxy

    @property
    def browser_may_ignore_errors(self) -> bool:
        # The chain was checked (pin / allowance) by us; the browser must not refuse it again.
        target = self.config.target
        return bool(self.info is not None and (target.allow_self_signed or target.certificate))

    async def handshake(self, host: str, port: int) -> None:
        """Fetch, record and judge the chain; end the target if it is not to be trusted."""
        cfg = self.config
        session = cfg.session
        forward = self.route.forward(host, port) if self.route is not None else None
        try:
            info = await asyncio.to_thread(fetch_chain, host, port, None, float(cfg.target.timeouts.connect), None,
                                           ("127.0.0.1", forward.port) if forward else None)
        except TimeoutError:
            end(Outcome.UNREACHABLE, f"TLS connect to {host}:{port} timed out")
        except ssl.SSLError as exc:
            end(Outcome.ERROR, f"TLS handshake with {host}:{port} failed: {exc.reason or exc}")
        except OSError as exc:
            end(Outcome.UNREACHABLE, f"cannot connect to {host}:{port}: {exc.strerror or exc}")
        finally:
            if forward is not None:
                forward.close()
        self.info = info
        record = info.record()
        if forward is not None:  # the peer seen is the local forward; the server is what the route reached
            record["through_route"] = f"local forward {forward.address} -> {host}:{port} (see route_connected)"
            info.peer_ip, info.peer_port = host, port
        # One trust decision for every TLS driver (web, LDAP): pin, system trust, or allowance.
        decision = judge(info, cfg.target.certificate, cfg.target.allow_self_signed)
        pin = check_pin(info, cfg.target.certificate)
        record["pinned"] = pin.pinned
        record["pin_ok"] = pin.ok if pin.pinned else None
        record["trust"] = decision.as_dict()
        await asyncio.to_thread(
            session.add_artifact, "certificate-chain.pem", info.chain_pem(), "certificate_chain",
            "application/x-pem-file", False, leaf_sha256=info.leaf_sha256,
        )
        await journal(session, "tls", record)
        session.set_identity(
            tls_leaf_sha256=info.leaf_sha256, tls_subject=record["chain"][0]["subject"] if record["chain"] else "",
            tls_issuer=record["chain"][0]["issuer"] if record["chain"] else "", tls_verified=info.verified,
            server_ip=info.peer_ip, server_port=info.peer_port,
        )
        if not decision.accepted:
            end(Outcome.CERTIFICATE_MISMATCH, f"{decision.reason}; nothing was typed")

    async def watch(self, context: Any, page: Any) -> None:
        """Enable CDP's Network domain: Chromium only hands out the certificates of connections
        it saw with it enabled (read back in :meth:`after_first_goto`)."""
        if self.info is None:
            return
        try:
            self._cdp = await context.new_cdp_session(page)
            await self._cdp.send("Network.enable")
        except Exception:
            self._cdp = None

    async def after_first_goto(self, page_url: str) -> None:
        """Cross-check the certificate the browser itself got with the one we pinned/recorded."""
        if self.info is None:
            return
        cfg = self.config
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(page_url or cfg.base_url))
        try:
            if self._cdp is None:
                raise RuntimeError("no CDP session")
            got = await self._cdp.send("Network.getCertificate", {"origin": origin})
            await self._cdp.detach()
            self._cdp = None
            names = got.get("tableNames") or []
        except Exception as exc:
            await journal(cfg.session, "tls_browser", {"origin": origin, "available": False,
                                                       "reason": type(exc).__name__})
            return
        if not names:
            await journal(cfg.session, "tls_browser", {"origin": origin, "available": False,
                                                       "reason": "no certificate"})
            return
        self.browser_leaf = cert_sha256(base64.b64decode(names[0]))
        same = self.browser_leaf == self.info.leaf_sha256
        await journal(cfg.session, "tls_browser", {
            "origin": origin, "available": True, "leaf_sha256": self.browser_leaf,
            "same_as_handshake": same, "chain_length": len(names),
        })
        pin = check_pin(self.browser_leaf, cfg.target.certificate)
        if not pin.ok or (not same and cfg.target.certificate):
            end(Outcome.CERTIFICATE_MISMATCH, "browser saw another certificate: " + pin.describe()
                + "; nothing was typed")

    def before_secret(self) -> None:
        """The last moment to refuse: no secret is typed into an unconfirmed server."""
        if self.info is not None:
            pin = check_pin(self.browser_leaf or self.info.leaf_sha256, self.config.target.certificate)
            if not pin.ok:
                end(Outcome.CERTIFICATE_MISMATCH, pin.describe() + "; nothing was typed")
