"""Web capture: log into a web admin page with Playwright (Chromium) and journal the proof.

Per target: TLS chain + pin check (before anything is typed), the profile's steps (failure
markers watched while waiting), the success marker, limited/privileged markers, screenshots
(original + stamped copy), the navigation record, a scrubbed trace and a video.

The package is split by collaborator; imports run one way (each module imports only those
listed after it):

- driver.py: :class:`WebDriver`, the run's browser loop and lifecycle; ``capture`` returns an Ending.
- login.py: one target's login start to end, where its Ending is made.
- steps.py: the step runner (goto, fill, click, press, wait, totp, http_auth, screenshot, manual).
- waits.py: waits with failure markers watched; the technician's pauses and the deadline.
- evidence.py: screenshots with masks, the navigation record, trace and video into the case.
- tls.py: the server's certificate, checked before loading, after the first page and before typing.
- probes.py: pure reads of the page (conditions, failure markers, their text).
- state.py: the frozen per-target config and what a login borrows from the driver.
- trace_scrub.py: every secret out of a Playwright trace, or the trace is dropped.
"""

from evidence_kit.drivers.web.driver import WebDriver
from evidence_kit.drivers.web.steps import totp_now

__all__ = ["WebDriver", "totp_now"]
