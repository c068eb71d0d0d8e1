"""The CLI surface: thin, fast to start, and errors as one line with the right exit code."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("paramiko", "playwright", "PIL", "ldap3", "pyrage", "bagit", "rfc3161_client", "pykeepass", "jinja2",
         "cryptography.hazmat.primitives.asymmetric.ed25519", "rich.progress")


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from evidence_kit.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        f"print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = out.stdout.strip().splitlines()[-1].removeprefix("LOADED=")
    assert loaded == "", f"--help imported heavy modules: {loaded}"


def test_help_lists_the_product_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "evidence_kit", "--help"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    for command in ("capture", "profiles", "demo"):
        assert command in out


def test_usage_errors_exit_2_without_traceback(tmp_path) -> None:
    for args in (["capture"], ["capture", str(tmp_path / "missing.yaml")], ["profiles", "show", "no_such_profile"],
                 ["nosuchcommand"], ["capture", "x.yaml", "--concurrency", "0"]):
        proc = subprocess.run([sys.executable, "-m", "evidence_kit", *args], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "evidence_kit", "capture", str(tmp_path / "missing.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip() == f"error: {tmp_path / 'missing.yaml'}: file not found"


def test_profiles_commands(tmp_path) -> None:
    run = lambda *a: subprocess.run([sys.executable, "-m", "evidence_kit", "profiles", *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    listed = run("list")
    assert listed.returncode == 0 and "cisco_ios" in listed.stdout and "linux" in listed.stdout
    shown = run("show", "cisco_ios")
    assert shown.returncode == 0 and "identity_commands" in shown.stdout
    import json

    schema = json.loads(run("schema").stdout)
    assert schema["oneOf"] and "SshProfile" in schema["$defs"]
    user = tmp_path / "mine"
    user.mkdir()
    (user / "my_switch.yaml").write_text(
        "name: my_switch\nkind: ssh\nmodes: [{name: user, pattern: '>\\s*$', privilege: 1}]\nexpected_mode: user\n"
    )
    (user / "broken.yaml").write_text("name: broken\nkind: ssh\nmodes: []\nexpected_mode: user\n")
    ok = run("lint", str(user / "my_switch.yaml"))
    assert ok.returncode == 0 and "ok" in ok.stdout
    bad = run("lint", str(user / "broken.yaml"))
    assert bad.returncode == 2 and "field 'modes'" in bad.stderr and "line 3" in bad.stderr
    (user / "broken.yaml").rename(tmp_path / "broken.yaml")
    mine = run("list", "--profiles", str(user))
    assert mine.returncode == 0 and "my_switch" in mine.stdout and str(user) in mine.stdout
    (tmp_path / "broken.yaml").rename(user / "broken.yaml")
    listed = subprocess.run([sys.executable, "-m", "evidence_kit", "profiles", "list"], capture_output=True,
                            text=True, timeout=60, env={**__import__("os").environ, "EVIDENCE_KIT_PROFILES": str(user)})
    assert listed.returncode == 2 and "broken" in listed.stderr  # a broken user profile is named, not ignored
