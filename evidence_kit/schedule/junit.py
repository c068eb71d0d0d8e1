"""``--junit FILE``: one run as a JUnit XML report, for CI servers and monitoring that read one.

One ``<testsuite>`` per run (named after the case, with the run number and the capture host),
one ``<testcase>`` per target (``classname`` ``evidence-kit.<kind>.<profile>``, ``name`` the
target, ``time`` the seconds it took). A target that did not end ``login_ok`` carries a
``<failure type="<outcome>" message="<outcome>: <detail>">`` with the detail as its text (a
``login_limited`` credential fails the check too: the run exits 1 for it as well). Properties
hold the address and the far end's identity; ``<system-out>`` the artifacts recorded.

Device text ends up in attributes and text, so it is made XML 1.0-safe: characters XML cannot
carry (most control characters, which a device's banner or prompt may contain) become
``\\xNN``. The file is written whole or not at all (a temporary name, then a rename).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import socket
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from evidence_kit.errors import UsageError, machine_error

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: Any) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _seconds(started: str, finished: str) -> float:
    try:
        a = _dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
        b = _dt.datetime.fromisoformat(finished.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (b - a).total_seconds())


def build(capture: Any, seal: Any | None = None) -> bytes:
    """The XML for a :class:`~evidence_kit.capture.CaptureResult` (and the run's seal, if any)."""
    results = list(capture.results)
    failures = [r for r in results if not r.outcome.is_success]
    starts = [r.started for r in results if r.started]
    ends = [r.finished for r in results if r.finished]
    suite = ET.Element("testsuite", {
        "name": xml_safe(f"evidence-kit {capture.case_id} run {capture.run}"),
        "tests": str(len(results)), "failures": str(len(failures)), "errors": "0", "skipped": "0",
        "time": f"{_seconds(min(starts), max(ends)) if starts and ends else 0.0:.3f}",
        "timestamp": min(starts)[:19] if starts else "", "hostname": xml_safe(socket.gethostname()),
    })
    props = ET.SubElement(suite, "properties")
    facts = {"case_id": capture.case_id, "case_folder": str(capture.case_root), "run": str(capture.run)}
    if seal is not None:
        facts |= {"archive": str(seal.archive), "archive_sha256": str(seal.sha256), "receipt": str(seal.receipt)}
    for key, value in facts.items():
        ET.SubElement(props, "property", {"name": key, "value": xml_safe(value)})
    for r in results:
        case = ET.SubElement(suite, "testcase", {
            "classname": xml_safe(f"evidence-kit.{r.kind}.{r.profile}"), "name": xml_safe(r.name),
            "time": f"{_seconds(r.started, r.finished):.3f}",
        })
        cprops = ET.SubElement(case, "properties")
        values = {"outcome": r.outcome.value, "address": r.address, "started": r.started, "finished": r.finished}
        values |= {f"identity.{k}": v for k, v in sorted(r.identity.items()) if isinstance(v, str | int | float)}
        for key, value in values.items():
            ET.SubElement(cprops, "property", {"name": xml_safe(key), "value": xml_safe(value)})
        if not r.outcome.is_success:
            failure = ET.SubElement(case, "failure", {
                "type": r.outcome.value, "message": xml_safe(f"{r.outcome.value}: {r.detail}"[:1000])})
            failure.text = xml_safe(r.detail)
        if r.artifacts:
            ET.SubElement(case, "system-out").text = xml_safe("\n".join(r.artifacts))
    ET.indent(suite)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="utf-8") + b"\n"


def check_destination(path: Path) -> None:
    """Refuse, before the run, a report the run could not write (bad input, exit 2)."""
    parent = Path(path).parent
    if not parent.is_dir():
        raise UsageError(f"--junit {path}: folder {parent} does not exist")
    if Path(path).is_dir():
        raise UsageError(f"--junit {path}: is a folder")


def write(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        err = machine_error(exc, path, "writing the JUnit report", "the evidence is sealed; only the report is missing")
        if err is not None:
            raise err from exc
        raise UsageError(f"--junit {path}: cannot be written ({exc.strerror or exc})") from exc
