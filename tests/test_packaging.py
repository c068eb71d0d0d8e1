"""An installed (non-editable) evidence-kit finds its built-in profiles and report templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_profiles_and_templates(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("evidence_kit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for profile in (ROOT / "evidence_kit" / "profiles" / "builtin").glob("*.yaml"):
        assert f"evidence_kit/profiles/builtin/{profile.name}" in names, profile.name
    for template in (ROOT / "evidence_kit/report/templates").iterdir():
        assert f"evidence_kit/report/templates/{template.name}" in names, template.name
    assert any(n.endswith("entry_points.txt") for n in names)
