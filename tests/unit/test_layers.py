"""The layers contract (DESIGN.md, "Layers and folders"), checked with import-linter.

`api > consumers > infra > projections > domain`: imports point down only. The contract
lives in pyproject.toml (`[tool.importlinter]`); these tests run `lint-imports` on it, and
prove on a scratch copy of the tree that a wrong-way import would be caught.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "consumers", "infra", "projections", "domain")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the tree at `root`, importing the packages from there."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_layers_contract_is_kept() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Layers KEPT" in done.stdout
    assert "0 broken" in done.stdout


def test_layers_contract_catches_domain_importing_infra(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    ledger = tmp_path / "domain" / "ledger.py"
    ledger.write_text(ledger.read_text() + "\nimport infra.settings  # wrong way\n")

    done = lint_imports(tmp_path)

    assert done.returncode != 0, done.stdout
    assert "Layers BROKEN" in done.stdout
    assert "domain.ledger -> infra.settings" in done.stdout, done.stdout
