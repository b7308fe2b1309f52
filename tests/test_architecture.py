"""The architecture of docs/architecture.md, checked: the layers hold, and no module or function grows past
what a reader takes in at once (declarative data aside)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "registry", "approvals", "imports", "fleet", "transfers")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 65
DECLARATIVE = {"portal/demo/story.py:timeline", "portal/demo/catalog.py:demo_models"}  # data written as code
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def _lint_imports(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=where, capture_output=True, text=True, timeout=120)


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_the_layer_contracts_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "registry" / "selectors.py", "a") as fh:
        fh.write("\nfrom approvals import selectors as workflow  # noqa: E402 - the registry reaching up\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "registry is not allowed to import approvals" in result.stdout
    assert "registry.selectors -> approvals.selectors" in result.stdout


def test_django_stays_out_of_parsing_and_evidence(tmp_path):
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "registry" / "evidence" / "drift.py", "a") as fh:
        fh.write("\nfrom django.conf import settings  # noqa: E402\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0 and "registry.evidence.drift -> django" in result.stdout


def test_modules_and_functions_stay_readable():
    too_long = []
    for path in _sources():
        text = path.read_text()
        rel = str(path.relative_to(ROOT))
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and f"{rel}:{node.name}" not in DECLARATIVE:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.name}: {length} lines")
    assert not too_long, "split these: " + "; ".join(too_long)
