"""The age v1 file format (https://age-encryption.org/v1), the parts evidence-kit implements.

:mod:`.format` is the header (stanzas, base64, the header MAC); :mod:`.recipients` wraps and
unwraps the file key (scrypt passphrase, X25519 with its Bech32 keys, SSH keys through pyrage);
:mod:`.stream` is the payload (STREAM: ChaCha20-Poly1305 chunks) and the stream wrappers that
keep seal and verify in constant memory. :mod:`evidence_kit.seal.encrypt` is the front door
that picks among them. Imports run one way: format <- stream <- recipients <- encrypt.
"""
