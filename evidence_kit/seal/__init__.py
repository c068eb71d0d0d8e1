"""Seal, verify, extract: signed, RFC 3161 time-stamped, age-encrypted BagIt archives.

Data flows one way: case folder -> :mod:`.seal` -> archive (+ receipt) -> :mod:`.verify` /
:mod:`.extract`. :mod:`.model` holds the archive layout both sides share. Nothing here knows
of Click.
"""
