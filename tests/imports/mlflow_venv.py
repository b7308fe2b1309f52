"""Installs var/mlflow-venv for the import tests (``make test`` runs it first; instant once installed)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.compare_mlflow import mlflow_venv  # noqa: E402
from tests.imports.conftest import CLIENT_PACKAGES  # noqa: E402

if __name__ == "__main__":
    print(mlflow_venv(CLIENT_PACKAGES))
