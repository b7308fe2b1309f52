import pytest
from django.core.management import CommandError, call_command

from portal.audit import verify_chain
from portal.models import AuditEvent
from registry.models import Dataset, ModelVersion, RegisteredModel

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
