"""``evidence-kit import``: an inventory from an MSP documentation tool's export or vault.

One module per source format behind one interface (``interface.py``); ``registry.py`` finds
the format of a file; ``rules.py`` (with the built-in rules in ``rules.yaml``) maps entries to
profiles; ``mapping.py`` turns a mapped entry into an inventory target; ``writer.py`` writes
the inventory (references, never values); ``resolve.py`` serves the source reference schemes
(``bitwarden:ID/password``...) to :class:`~evidence_kit.secrets.SecretResolver` at capture;
``sources.py`` is the inventory's ``case.sources`` block. ``run.py`` ties them together for the
command. Nothing here imports a heavy library at module level: the inventory loader imports
``sources.py`` and the CLI's ``--help`` must stay fast.
"""
