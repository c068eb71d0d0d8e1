"""Scheduled runs an MSP can leave running (docs/scheduled-runs.md).

``run`` (evidence_kit/pipeline.py) captures, seals and then uses this package: :mod:`.chain`
links each run's receipt to the one before it and checks a folder of them as one history;
:mod:`.record` journals what happened after the seal into the case (the next run's archive
carries it); :mod:`.changes` and :mod:`.alerts` decide and send the alerts on change;
:mod:`.junit` writes the per-run test report; :mod:`.history` shows outcomes over time;
:mod:`.units` writes the systemd timer and the crontab line. Nothing here knows of Click.
"""
