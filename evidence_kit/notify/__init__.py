"""Sending messages: mail over SMTP (handover transmittal, alerts) and signed webhooks.

Pure core, no command line: callers (``handover --mail``, scheduled-run alerts) resolve the
secrets, build the settings, and record the returned frozen results in the journal.
See docs/notify.md for the settings and for how a receiver verifies a webhook signature.
"""
