"""``make test``'s temp-folder guard: a private TMPDIR, removed; a hard-coded path fails."""

import os
import subprocess
import sys
from pathlib import Path

GUARD = Path(__file__).parents[1] / "_tmp_guard.py"


def _guard(system: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TMPDIR": str(system)}
    return subprocess.run(
        [sys.executable, str(GUARD), sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_what_honours_tmpdir_goes_and_passes(tmp_path):
    system = tmp_path / "sys"
    system.mkdir()
    code = "import tempfile, os; d = tempfile.mkdtemp(); open(os.path.join(d, 'x'), 'w')"
    done = _guard(system, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout == done.stderr == ""
    assert list(system.iterdir()) == []  # the private folder and what was in it: gone


def test_a_hard_coded_temp_path_fails_the_run_naming_it(tmp_path):
    system = tmp_path / "sys"
    system.mkdir()
    done = _guard(system, f"open({str(system / 'weed.log')!r}, 'w')")
    assert done.returncode == 1
    assert "left 1 new entries" in done.stderr and "'weed.log'" in done.stderr


def test_the_command_exit_code_is_kept(tmp_path):
    system = tmp_path / "sys"
    system.mkdir()
    assert _guard(system, "raise SystemExit(5)").returncode == 5
