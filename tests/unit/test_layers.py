"""The import contracts (DESIGN.md, "Layers and folders"), checked with import-linter.

- Layers: `api > tools | consumers > infra > projections > domain`, imports point down
  only (tools and consumers are siblings that do not import each other).
- Entry points over services: `api.cli` and `api.http` never import each other, and
  `api.services` imports neither.
- The command line only calls services: `api.cli` imports neither the event-sourcing
  library nor the read models' store, runner or queries, nor the group committer.

The contracts live in pyproject.toml (`[tool.importlinter]`); these tests run
`lint-imports` on them, and prove on a scratch copy of the tree that a wrong-way import
would be caught.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "tools", "consumers", "infra", "projections", "domain")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the tree at `root`, importing the packages from there."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def scratch_tree(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_every_contract_is_kept() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for contract in (
        "Layers",
        "Entry points over services",
        "The command line only calls services",
        "Scheme rules do not import the aggregate or the application",
    ):
        assert f"{contract} KEPT" in done.stdout, done.stdout
    assert "0 broken" in done.stdout


def test_layers_contract_catches_domain_importing_infra(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path)
    append(root / "domain" / "ledger.py", "import infra.settings  # wrong way")

    done = lint_imports(root)

    assert done.returncode != 0, done.stdout
    assert "Layers BROKEN" in done.stdout
    assert "domain.ledger -> infra.settings" in done.stdout, done.stdout


def test_services_importing_an_entry_point_is_caught(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path)
    append(root / "api" / "services" / "coverage.py", "import api.cli.render  # wrong way")

    done = lint_imports(root)

    assert done.returncode != 0, done.stdout
    assert "Entry points over services BROKEN" in done.stdout
    assert "api.services.coverage -> api.cli.render" in done.stdout, done.stdout


def test_entry_points_importing_each_other_is_caught(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path)
    http = root / "api" / "http"
    if not http.exists():  # the HTTP API may not be there yet: a stand-in of one line
        http.mkdir()
        (http / "__init__.py").write_text('"""Stand-in."""\n')
    append(http / "__init__.py", "import api.cli.render  # wrong way")

    done = lint_imports(root)

    assert done.returncode != 0, done.stdout
    assert "Entry points over services BROKEN" in done.stdout
    assert "api.http -> api.cli.render" in done.stdout, done.stdout


def test_the_command_line_reaching_past_the_services_is_caught(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path)
    append(root / "api" / "cli" / "coverage.py", "import projections.store  # wrong way")

    done = lint_imports(root)

    assert done.returncode != 0, done.stdout
    assert "The command line only calls services BROKEN" in done.stdout
    assert "api.cli.coverage -> projections.store" in done.stdout, done.stdout


def test_the_command_line_holds_no_sql_recorder_runner_or_masking() -> None:
    """What an import contract cannot see: attribute access and inline SQL."""
    words = re.compile(
        r"\.recorder\b|\.runner\b|\.views\b|\bSELECT\b|\bINSERT\b|"
        r"\bdef mask|personal_fields|\.committer\b"
    )
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "api" / "cli").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if words.search(line)
    ]
    assert found == []


def test_a_consumer_importing_a_tool_is_caught(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path)
    (root / "consumers" / "uses_a_tool.py").write_text(
        "import tools.seed  # a sibling, not a layer below\n"
    )

    done = lint_imports(root)

    assert done.returncode != 0, done.stdout
    assert "consumers.uses_a_tool -> tools.seed" in done.stdout, done.stdout


def test_a_scheme_rule_importing_the_aggregate_is_caught(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path)
    append(root / "domain" / "coverage.py", "import domain.participant  # the old cycle")

    done = lint_imports(root)

    assert done.returncode != 0, done.stdout
    assert "domain.coverage -> domain.participant" in done.stdout, done.stdout


PART_BUILDERS = re.compile(
    r"\b_?(build_ledger|build_view_store|build_runner|build_vault|"
    r"close_ledger)\b"
)


def test_only_the_composition_root_builds_the_parts() -> None:
    """Everything builds through `build_system`: no module but infra/bootstrap.py names
    a part builder, and only the system (and the committer's own unit tests, on in-memory
    ledgers) makes a group committer."""
    here = Path(__file__).resolve()
    bootstrap = ROOT / "infra" / "bootstrap.py"
    allowed_committers = {bootstrap, ROOT / "tests" / "unit" / "test_group_commit.py"}
    builders, committers = [], []
    for package in (*PACKAGES, "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in (here, bootstrap):
                continue
            text = path.read_text()
            if PART_BUILDERS.search(text):
                builders.append(str(path.relative_to(ROOT)))
            if "GroupCommitter(" in text and path not in allowed_committers:
                committers.append(str(path.relative_to(ROOT)))
    assert builders == [], f"part builders used outside infra/bootstrap.py: {builders}"
    assert committers == [], f"group committers built outside the system: {committers}"
