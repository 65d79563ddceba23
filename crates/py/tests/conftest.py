"""Shared fixtures: the `memphis` binary the Python results are checked against.

A tool a test needs that is missing fails the test in CI (CI set), where a skip would
pass unseen; elsewhere it skips with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def need(what: str, found: bool, how: str) -> None:
    """Fails (in CI) or skips (elsewhere) unless `found`."""
    if found:
        return
    message = f"{what} is missing: {how}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def memphis_bin() -> Path:
    """The `memphis` binary: $MEMPHIS_BIN, else the repository's release or debug build."""
    candidates = [os.environ.get("MEMPHIS_BIN")]
    candidates += [str(REPO / "target" / p / "memphis") for p in ("release", "debug")]
    candidates.append(shutil.which("memphis"))
    found = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    need("the memphis binary", found is not None, "cargo build --release -p memphis, or set MEMPHIS_BIN")
    return found  # type: ignore[return-value]


class Cli:
    def __init__(self, exe: Path) -> None:
        self.exe = exe

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.exe), "-q", *args], capture_output=True, text=True, cwd=REPO)

    def json(self, *args: str) -> dict:
        """The command's `--json` as the Python function returns it: the notes name
        keywords where the command line's name flags (`tokens=`, not `--tokens`)."""
        p = self.run(*args, "--json")
        assert p.returncode == 0, p.stderr
        from memphis import _memphis

        return json.loads(_memphis.notes_in_keywords(p.stdout))

    def error(self, *args: str) -> str:
        """The error line the binary prints, without `error: ` (it must fail with 2)."""
        p = self.run(*args)
        assert p.returncode == 2, (p.returncode, p.stderr)
        line = p.stderr.strip().splitlines()[-1]
        assert line.startswith("error: "), line
        return line[len("error: "):]


@pytest.fixture(scope="session")
def cli(memphis_bin: Path) -> Cli:
    return Cli(memphis_bin)
