"""How a target is reached: jump hosts, proxies, OpenSSH config — and the route as evidence.

- ``model.py``: the inventory's ``hops:``, ``proxies:`` and ``defaults:`` blocks (validated) and
  the resolved :class:`~evidence_kit.route.model.Route` a target carries;
- ``sshconfig.py``: the OpenSSH client config reader (Host aliases, ProxyJump...);
- ``build.py``: the inventory side: defaults, names, chains, ssh_config applied to a target;
- ``sshlink.py``: the SSH logic every SSH connection shares (handshake, host key check before
  any credential, password / keyboard-interactive / key / agent authentication);
- ``dial.py`` and ``pool.py``: opening a route at capture time (proxy, then each hop's
  ``direct-tcpip`` channel as the next hop's socket), one hop connection shared per run;
- ``bridge.py``: local listeners on 127.0.0.1 that carry a browser's or ldap3's connections
  through a route (an HTTP CONNECT proxy, a port forward).

docs/route.md describes the inventory fields and what the journal records.
"""
