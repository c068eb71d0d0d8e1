"""Capture drivers, one per profile kind; all share the case/journal API in drivers/base.py."""
