"""RDP logon as a person sees it: negotiation and certificate first, then FreeRDP on a private display.

The driver of kind ``rdp`` (built-in profile ``windows_rdp``) is :mod:`.driver` (``RdpDriver``).
The other modules are stand-alone layers (no import from the driver, capture or case code); they
return frozen dataclasses, and the driver wraps them:

    probe = negotiate.probe(host, port, request="nla", timeout=10)   # RdpProbe; no credential sent
    # judge probe.tls with evidence_kit.drivers.tls.judge(...) -- pin, system trust, allow_self_signed
    req = freerdp.RdpLogonRequest(host, port, username, security=probe.security,
                                  cert_sha256=probe.tls.leaf_sha256, domain=..., record=False)
    result = freerdp.logon(req, password, workdir, cancel=event)     # RdpLogonResult

Modules: :mod:`.driver` (the target, start to end, into the case), :mod:`.negotiate` (X.224 +
TLS probe), :mod:`.display` (private Xvfb, frames),
:mod:`.freerdp` (the client run and the outcome), :mod:`.freerdp_log` (reading FreeRDP's log),
:mod:`.recording` (frames to MP4 with the system ffmpeg).
"""
