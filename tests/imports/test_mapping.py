"""MLflow names, teams and tags onto Gatehouse (imports/mapping.py), and the flavour read from MLmodel."""

from __future__ import annotations

import pytest
from django.conf import settings

from imports import mapping
from imports.mlflow import Credentials, MlflowClient, MlflowError, flavors_of, normalize_url


@pytest.mark.parametrize(
    ("mlflow", "gatehouse"),
    [("Iris Classifier", "iris-classifier"), ("fraud_model.v2", "fraud-model-v2"), ("--x--", "x"), ("!!!", "")],
)
def test_gatehouse_names(mlflow, gatehouse):
    assert mapping.gatehouse_name(mlflow) == gatehouse


def test_suffixes_stay_within_the_name_length():
    assert mapping.suffixed("a" * 100, 2).endswith("-mlflow-2") and len(mapping.suffixed("a" * 100, 2)) == 100


def test_teams_by_tag_then_longest_prefix_then_default():
    prefixes = mapping.parse_prefixes("fraud-=fraud\nfraud-card-=cards  # the longer wins\n\n")
    kw = {"prefixes": prefixes, "team_tag": "owner", "default": "core"}
    assert mapping.team_slug_for("fraud-card-x", {}, **kw)[0] == "cards"
    assert mapping.team_slug_for("fraud-x", {}, **kw)[0] == "fraud"
    assert mapping.team_slug_for("fraud-x", {"owner": "risk"}, **kw) == ("risk", "tag owner=risk")
    assert mapping.team_slug_for("other", {}, **kw)[0] == "core"
    assert mapping.team_slug_for("other", {}, prefixes=[], team_tag="", default=None) == (None, "")
    with pytest.raises(ValueError, match="Line 1 of the team mapping"):
        mapping.parse_prefixes("no equals sign")


def test_mlmodel_is_read_with_safe_load_only():
    assert set(flavors_of(b"flavors:\n  onnx: {onnx_model: model.onnx}\n")) == {"onnx"}
    with pytest.raises(MlflowError, match="not valid YAML"):
        flavors_of(b"flavors: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(MlflowError, match="names no flavour"):
        flavors_of(b"artifact_path: model\n")


def test_artifacts_only_through_the_proxy_and_credentials_as_headers():
    assert MlflowClient.proxied_path("mlflow-artifacts:/0/models/m-1/artifacts") == "0/models/m-1/artifacts"
    with pytest.raises(MlflowError, match="--serve-artifacts"):
        MlflowClient.proxied_path("s3://bucket/0/models/m-1/artifacts")
    assert Credentials(token="t").header() == "Bearer t"
    assert Credentials(username="u", password="p").header() == "Basic dTpw"
    assert normalize_url("HTTP://MLflow:5000/") == "http://mlflow:5000"
    with pytest.raises(ValueError, match="not an http"):
        normalize_url("file:///tmp/mlruns")


def test_the_sync_is_scheduled():
    assert settings.CELERY_BEAT_SCHEDULE["mlflow-sync"]["task"] == "imports.sources_sync"
