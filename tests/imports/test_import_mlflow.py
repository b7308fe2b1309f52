"""Imports from a real MLflow server (tests/imports/conftest.py): ONNX versions arrive through the registry's
upload service with MLflow's digests, signatures, metrics and lineage; the sklearn flavour is refused; a
second import adds nothing; a version logged later arrives with the next sync."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from imports import services
from imports.choices import Outcome, RunStatus
from imports.mlflow import MlflowClient
from imports.models import ImportedVersion, ImportRun, ImportSource
from portal.core.models import AuditEvent
from registry.models import ModelVersion, RegisteredModel
from tests.factories import RegisteredModelFactory, UserFactory

pytestmark = pytest.mark.django_db


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored(server, name: str, version: str):
    """The folder of a version's model in the MLflow server's artifact store."""
    client = MlflowClient(server.url, timeout_s=10)
    return server.artifacts / client.proxied_path(client.download_uri(name, version))


def _by(report, outcome):
    return {(line["model"], line["version"]) for line in report if line["outcome"] == outcome}


def _command(*args) -> str:
    out = io.StringIO()
    call_command("import_mlflow", *args, stdout=out)
    return out.getvalue()


def test_dry_run_lists_what_would_happen_and_writes_nothing(mlflow_server, team):
    events = AuditEvent.objects.count()
    report = services.import_plan(options=services.Options(url=mlflow_server.url, default_team=team.slug))
    assert {("Iris Classifier", "1"), ("Iris Classifier", "2"), ("tiny-transformer", "1")} <= _by(
        report, Outcome.WOULD_IMPORT
    )
    assert ("sk-pickle", "1") in _by(report, Outcome.REFUSED)
    iris = next(line for line in report if line["model"] == "Iris Classifier")
    assert "Renamed 'Iris Classifier' to 'iris-classifier'" in iris["reason"]
    assert not RegisteredModel.objects.exists() and not ImportRun.objects.exists()
    assert AuditEvent.objects.count() == events
    out = _command(mlflow_server.url, "--team", team.slug, "--dry-run")
    assert "would-import  Iris Classifier v1 -> iris-classifier" in out
    assert not ImportRun.objects.exists()


def test_import_then_again_then_a_new_version_by_sync(mlflow_server, team, itops):
    out = _command(mlflow_server.url, "--team", team.slug)
    run = ImportRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert {("Iris Classifier", "1"), ("Iris Classifier", "2"), ("tiny-transformer", "1")} <= _by(
        run.report, Outcome.IMPORTED
    ), run.report
    assert "Import #" in out

    # The sklearn flavour is refused with its reason and the hint; nothing of it is downloaded or registered.
    refused = next(line for line in run.report if line["model"] == "sk-pickle")
    assert refused["outcome"] == Outcome.REFUSED
    assert "Its flavour is python_function, sklearn, not ONNX" in refused["reason"]
    assert "convert it with skl2onnx" in refused["reason"] and "mlflow.onnx.log_model" in refused["reason"]
    assert not RegisteredModel.objects.filter(name="sk-pickle").exists()

    # ONNX versions: in design, MLflow's digest, the graph's signature, the run's metrics and params.
    iris = RegisteredModel.objects.get(name="iris-classifier")
    assert iris.team == team and iris.task_type == "multiclass"
    assert iris.description == "Iris species from petal and sepal sizes."
    assert {"mlflow", "domain-botany"} <= set(iris.tags.values_list("name", flat=True))
    v1, v2 = ModelVersion.objects.filter(model=iris).order_by("number")
    for version, number in ((v1, "1"), (v2, "2")):
        assert version.stage == "design"
        assert version.sha256 == _sha256(_stored(mlflow_server, "Iris Classifier", number) / "model.onnx")
        assert [i["name"] for i in version.signature["inputs"]] == ["X"]
        assert version.metrics["accuracy"] > 0.9 and version.metrics["train_rows"] == 150
        assert "C=" in version.notes and "max_iter=500" in version.notes
        assert version.training_run_url.startswith(mlflow_server.url) and version.trained_at is not None
    assert "C=0.5" in v2.notes
    origin = v2.mlflow_origin
    assert (origin.mlflow_name, origin.mlflow_version, origin.server_url) == ("Iris Classifier", 2, mlflow_server.url)
    assert origin.aliases == ["champion"] and origin.stage == "Staging"
    assert origin.mlflow_run_id == mlflow_server.logged["iris"][1]["run_id"]
    assert v1.mlflow_origin.aliases == [] and v1.mlflow_origin.stage == "None"

    # The PyTorch export with its external data file: every file has MLflow's digest.
    transformer = ModelVersion.objects.get(model__name="tiny-transformer")
    folder = _stored(mlflow_server, "tiny-transformer", "1")
    assert transformer.is_set and len(transformer.files) == 2
    assert {f["path"]: f["sha256"] for f in transformer.files} == {
        p.name: _sha256(p) for p in folder.iterdir() if p.suffix in (".onnx", ".data")
    }
    assert transformer.metrics == {"val_loss": 0.42}

    # Through the registry's upload service: its audit event, by the import account.
    created = AuditEvent.objects.filter(action="registry.version.created")
    assert created.count() == 3 and {e.actor_id for e in created} == {services.importer_account().pk}

    # A second import adds nothing.
    _command(mlflow_server.url, "--team", team.slug)
    again = ImportRun.objects.order_by("-pk").first()
    assert again.imported == 0 and again.refused == 1 and again.skipped == 3
    assert ModelVersion.objects.count() == 3 and ImportedVersion.objects.count() == 3

    # A version logged later arrives with the next sync (beat's task starts a run per enabled source).
    services.import_source_save(actor=itops, url=mlflow_server.url, default_team=team, sync_enabled=True)
    mlflow_server.log("new-version")
    (run_id,) = services.import_sources_sync()
    synced = services.import_run_execute(run_id=run_id)
    assert synced.trigger == "sync" and synced.imported == 1, synced.report
    v3 = ModelVersion.objects.get(model=iris, number=3)
    assert v3.mlflow_origin.mlflow_version == 3 and "C=0.25" in v3.notes
    assert ImportSource.objects.get().last_synced_at is not None


def test_name_conflicts_refused_or_suffixed(mlflow_server, team, scientist):
    RegisteredModelFactory(name="tiny-transformer", team=team)
    base = {"url": mlflow_server.url, "default_team": team.slug, "model": "tiny-transformer"}
    refused = services.import_plan(options=services.Options(**base))
    assert refused[0]["outcome"] == Outcome.REFUSED and "already named 'tiny-transformer'" in refused[0]["reason"]
    suffixed = services.import_plan(options=services.Options(**base, name_conflict="suffix"))
    assert suffixed[0]["outcome"] == Outcome.WOULD_IMPORT
    assert suffixed[0]["gatehouse"] == "tiny-transformer-mlflow"


def test_teams_by_prefix_and_unknown_team(mlflow_server, team, other_team, tmp_path):
    mapping = tmp_path / "teams.txt"
    mapping.write_text("# MLflow prefix = Gatehouse team\ntiny-=marketing\nIris=risk-models\n")
    report = services.import_plan(
        options=services.Options(url=mlflow_server.url, prefixes=services.runs.mapping.mapping_file(str(mapping)))
    )
    teams = {line["model"]: line.get("team") for line in report if line["outcome"] == Outcome.WOULD_IMPORT}
    assert teams["tiny-transformer"] == "marketing" and teams["Iris Classifier"] == "risk-models"
    with pytest.raises(CommandError, match="No team has the slug 'nobody'"):
        _command(mlflow_server.url, "--team", "nobody", "--dry-run")


def test_limits_are_settings_named_in_the_refusal(mlflow_server, team, settings):
    settings.GATEHOUSE_IMPORT_MAX_ARTIFACT_MB = 0  # below the smallest file
    report = services.import_plan(options=services.Options(url=mlflow_server.url, default_team=team.slug))
    assert all("GATEHOUSE_IMPORT_MAX_ARTIFACT_MB" in line["reason"] for line in report if line["model"] != "sk-pickle")
    settings.GATEHOUSE_IMPORT_MAX_MODELS = 1
    report = services.import_plan(options=services.Options(url=mlflow_server.url, default_team=team.slug))
    (rest,) = [line for line in report if line["model"] == "(the rest)"]
    assert rest["outcome"] == Outcome.REFUSED and "GATEHOUSE_IMPORT_MAX_MODELS" in rest["reason"]


def test_the_page_is_for_admins_and_it_operations(client, users):
    for role in ("scientist", "reviewer", "manager"):
        client.force_login(users[role])
        assert client.get("/imports/").status_code == 403
    client.force_login(users["itops"])
    assert client.get("/imports/").status_code == 200
    client.force_login(UserFactory(username="root", is_superuser=True))
    assert client.get("/imports/").status_code == 200


def test_unreachable_server_fails_the_run_with_the_reason(team, settings):
    settings.GATEHOUSE_IMPORT_HTTP_TIMEOUT_S = 2
    with pytest.raises(CommandError, match="cannot be reached"):
        _command("http://127.0.0.1:9", "--team", team.slug)
    run = ImportRun.objects.get()
    assert run.status == RunStatus.FAILED and "cannot be reached" in run.error
