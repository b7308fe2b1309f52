"""What an MLflow version's run and tags become in Gatehouse: offline metrics, lineage, tags, notes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from imports import mapping
from registry.services.models import TAG_MAX_LENGTH


def _choice(value: str | None, choices, default: str) -> str:
    return value if value in choices.values else default


def _gatehouse_tags(tags: dict[str, str]) -> list[str]:
    """MLflow's model tags as Gatehouse tags (``key`` or ``key-value``), all of them kept as facts on the import
    record; system tags (mlflow.*) and those too long for a tag are left to the record."""
    out = ["mlflow"]
    for key, value in sorted(tags.items()):
        if key.startswith("mlflow.") or key in ("task_type", "risk_tier"):
            continue
        slug = mapping.gatehouse_name(f"{key}-{value}" if value and value.lower() != "true" else key)
        if slug and len(slug) <= TAG_MAX_LENGTH:
            out.append(slug)
    return out[: settings.GATEHOUSE_MAX_TAGS]


def _run_facts(server: str, run: dict | None) -> tuple[dict[str, float], dict[str, str], dict[str, Any]]:
    """The run's metrics (offline metrics), params and lineage (the run's page, commit, start time)."""
    if not run:
        return {}, {}, {}
    data, info = run.get("data") or {}, run.get("info") or {}
    metrics = {}
    for m in data.get("metrics") or []:
        key, value = str(m.get("key", "")), m.get("value")
        if 0 < len(key) <= 64 and isinstance(value, int | float) and value == value and abs(value) != float("inf"):
            metrics[key] = float(value)
    params = {p["key"]: p.get("value", "") for p in data.get("params") or [] if "key" in p}
    tags = mapping.tag_dict(data.get("tags"))
    lineage: dict[str, Any] = {
        "training_run_url": f"{server}/#/experiments/{info.get('experiment_id')}/runs/{info.get('run_id')}"[:500]
    }
    commit = tags.get("mlflow.source.git.commit", "")
    if commit and len(commit) <= 64:
        lineage["source_commit"] = commit
    repo = tags.get("mlflow.source.git.repoURL", "")
    if repo.startswith(("http://", "https://")) and len(repo) <= 500:
        lineage["source_code_url"] = repo
    if info.get("start_time"):
        lineage["trained_at"] = dt.datetime.fromtimestamp(int(info["start_time"]) / 1000, tz=dt.UTC)
    return metrics, params, lineage


def _notes(server: str, rm: dict, v: dict, params: dict[str, str], facts: dict) -> str:
    lines = [f"Imported from MLflow {server}: {rm['name']} version {v['version']}."]
    if v.get("run_id"):
        lines.append(f"Run {v['run_id']}.")
    if v.get("source"):
        lines.append(f"Source {v['source']}.")
    if facts["aliases"] or facts["stage"] not in ("", "None"):
        lines.append(f"In MLflow: aliases {', '.join(facts['aliases']) or 'none'}; stage {facts['stage'] or 'None'}.")
    if v.get("description"):
        lines.append(v["description"])
    if params:
        lines.append("Params: " + ", ".join(f"{k}={val}" for k, val in sorted(params.items())))
    return "\n".join(lines)[:10_000]
