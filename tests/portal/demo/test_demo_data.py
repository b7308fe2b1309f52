import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from approvals.models import Finding, PromotionRequest
from approvals.selectors import evidence_for
from portal.core.audit import verify_chain
from portal.core.models import AuditEvent
from portal.dashboard.board import dashboard
from portal.dashboard.facts import facts_now
from portal.dashboard.figures import Scope
from portal.dashboard.formula import debts
from portal.dashboard.models import DebtSnapshot
from registry.models import Dataset, Job, ModelVersion, Observation, RegisteredModel

pytestmark = pytest.mark.django_db


def test_demo_data_is_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refused when DEBUG is off"):
        call_command("demo_data")
    assert not RegisteredModel.objects.exists()


def test_demo_data_registers_real_models_and_is_idempotent(settings, client):
    settings.DEBUG = True
    call_command("demo_data")
    assert RegisteredModel.objects.count() == 5
    assert ModelVersion.objects.count() == 10
    assert Dataset.objects.count() == 5
    assert set(RegisteredModel.objects.values_list("risk_tier", flat=True)) == {"low", "medium", "high", "critical"}
    # The history was played in time order: the audit log reads forwards and its chain holds.
    times = list(AuditEvent.objects.order_by("id").values_list("created_at", flat=True))
    assert times == sorted(times) and (times[-1] - times[0]).days >= 200
    assert RegisteredModel.objects.values("team").distinct().count() == 3
    version = ModelVersion.objects.get(model__name="tumor-malignancy", number=1)
    assert version.signature["inputs"] == [{"name": "input", "dtype": "float", "shape": [None, 30]}]
    assert 0.9 < version.metrics["accuracy"] <= 1.0
    events = AuditEvent.objects.count()
    call_command("demo_data")
    assert ModelVersion.objects.count() == 10
    assert AuditEvent.objects.count() == events
    assert verify_chain(AuditEvent.objects.order_by("id"))[1] is None
    assert client.login(username="manager", password="gatehouse-demo")


def test_the_demo_history_feeds_the_dashboard(settings):
    """Months of real observations (one model drifting), evidence jobs run through onnxruntime, requests
    decided by the demo people, and a backfilled history: the dashboard has something true to say."""
    settings.DEBUG = True
    call_command("demo_data")
    board = {m.facts.name: m for m in debts(facts_now(Scope()), timezone.now())}
    assert board["wine-cultivar"].components["degrading"] == 1  # drifting since the supplier change
    assert board["wine-cultivar"].components["stuck"] == 1  # v2 waits for approval
    assert board["iris-species"].components["unmonitored"] == 1  # its serving side went quiet
    assert board["diabetes-progression"].components["shelf"] == 1  # refused production, in test since
    assert board["digit-recognizer"].components["ungoverned"] == 0.5  # half a card
    assert board["tumor-malignancy"].index == 0  # watched daily, validated, approved; its findings resolved
    # Findings: v2's high finding is remediated but not verified, past due, and holds its request back.
    assert board["wine-cultivar"].components["overdue_findings"] == 1
    assert board["iris-species"].components["overdue_findings"] == 0.5  # a medium one past due
    held = PromotionRequest.objects.get(version__model__name="wine-cultivar", status__in=["open", "approved"])
    missing = [e for e in evidence_for(held.version, held.policy, held.artifact_sha256) if not e.satisfied]
    assert "findings" in [e.key for e in missing]
    assert set(Finding.objects.values_list("status", flat=True)) == {"open", "remediated", "verified", "accepted"}
    wine = Observation.objects.filter(version__model__name="wine-cultivar")
    assert wine.filter(degradation=0).exists() and wine.filter(degradation=1).exists()
    assert all(o.reference_job_id for o in wine)
    assert Job.objects.filter(status="succeeded").count() == 14  # every validation and benchmark of the story
    assert DebtSnapshot.objects.values("date").distinct().count() >= 200
    flow = dashboard(Scope()).flow
    assert flow["change_failure_rate"].value > 0  # tumor-malignancy v2 was rolled back within days


def test_the_demo_history_signs_its_releases_and_checkpoints_its_audit_chain(settings, tmp_path):
    """Each release the demo plays is attested like any other: a deployment script with only cryptography
    (portal/core/dsse.py, copied) verifies a demo production version against its stored bytes and the key."""
    import json  # noqa: PLC0415
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from approvals.models import Attestation  # noqa: PLC0415
    from portal.core import dsse, keys  # noqa: PLC0415
    from portal.core.models import AuditCheckpoint  # noqa: PLC0415
    from portal.core.services import audit_checkpoint_sign  # noqa: PLC0415

    settings.DEBUG = True
    call_command("demo_data")
    production = ModelVersion.objects.filter(stage="production")
    assert production.exists()
    for version in production:
        attestation = Attestation.objects.filter(version=version, stage="production").first()
        assert attestation is not None, version
    version = production.get(model__name="tumor-malignancy")
    attestation = Attestation.objects.get(version=version, stage="production")
    (tmp_path / "attestation.json").write_text(json.dumps(attestation.envelope))
    (tmp_path / "keys.pem").write_text("".join(k["pem"] for k in keys.public_keys()))
    shutil.copy(version.artifact.path, tmp_path / "model.onnx")
    shutil.copy(dsse.__file__, tmp_path / "dsse.py")
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "dsse.py", "attestation.json", "--key", "keys.pem", "--artifact", "model.onnx"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # (A release's own checkpoint is signed after its commit, which a test's transaction never reaches.)
    audit_checkpoint_sign(reason="schedule")
    assert AuditCheckpoint.objects.get().seq == AuditEvent.objects.count()
    call_command("audit_verify")
