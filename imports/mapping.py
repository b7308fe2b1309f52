"""How MLflow names and tags map onto Gatehouse: model names, owning teams, tags. Pure functions."""

from __future__ import annotations

import re
from pathlib import Path

NAME_MAX = 100
_INVALID = re.compile(r"[^a-z0-9]+")
VALID_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")


def gatehouse_name(mlflow_name: str) -> str:
    """A valid Gatehouse model name for an MLflow one: lowercase letters, digits and hyphens (``Fraud Model_v2``
    becomes ``fraud-model-v2``); empty when nothing of it survives."""
    name = _INVALID.sub("-", mlflow_name.lower()).strip("-")
    return name[:NAME_MAX].rstrip("-")


def suffixed(name: str, n: int) -> str:
    tail = "-mlflow" if n == 1 else f"-mlflow-{n}"
    return name[: NAME_MAX - len(tail)].rstrip("-") + tail


def parse_prefixes(text: str) -> list[tuple[str, str]]:
    """``prefix=team-slug`` lines (blank lines and ``#`` comments ignored), longest prefix first."""
    pairs = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        prefix, sep, slug = line.partition("=")
        if not sep or not prefix.strip() or not slug.strip():
            raise ValueError(f"Line {number} of the team mapping, {raw.strip()[:80]!r}, is not 'prefix=team-slug'.")
        pairs.append((prefix.strip(), slug.strip()))
    return sorted(pairs, key=lambda p: -len(p[0]))


def mapping_file(path: str) -> list[tuple[str, str]]:
    return parse_prefixes(Path(path).read_text(encoding="utf-8"))


def team_slug_for(
    mlflow_name: str, tags: dict[str, str], *, prefixes: list[tuple[str, str]], team_tag: str, default: str | None
) -> tuple[str | None, str]:
    """The slug of the team that owns a model, and how it was chosen: its tag, then the longest prefix,
    then the default."""
    if team_tag and tags.get(team_tag):
        return tags[team_tag].strip(), f"tag {team_tag}={tags[team_tag]}"
    for prefix, slug in prefixes:
        if mlflow_name.startswith(prefix):
            return slug, f"prefix {prefix}="
    if default:
        return default, "the default team"
    return None, ""


def tag_dict(items: list[dict] | None) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in items or [] if "key" in t}
