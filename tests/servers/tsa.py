"""The RFC 3161 time-stamp authority tests use: the demo's own (``openssl ts -reply`` behind
a tiny HTTP server on 127.0.0.1), see evidence_kit/demo/tsa.py."""

from evidence_kit.demo.tsa import TSA

__all__ = ["TSA"]
