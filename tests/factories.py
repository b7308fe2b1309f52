from __future__ import annotations

import hashlib
import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone

from approvals import services as approvals_services
from approvals.choices import Action
from approvals.models import Policy, PromotionRequest
from approvals.workflow import transition_for
from portal.core.models import Team
from registry import services
from registry.choices import JobKind, JobStatus, Stage, Verdict
from registry.models import Dataset, Job, ModelVersion, Observation, RegisteredModel
from tests.onnx_files import onnx_bytes


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        for team in extracted or []:
            team.members.add(self)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.LazyAttribute(lambda t: t.name.lower().replace(" ", "-"))


class RegisteredModelFactory(factory.django.DjangoModelFactory):
    """Rows only, for read paths; writes under test go through the services."""

    class Meta:
        model = RegisteredModel

    name = factory.Sequence(lambda n: f"model-{n}")
    team = factory.SubFactory(TeamFactory)
    owner = factory.SubFactory(UserFactory)
    created_by = factory.SelfAttribute("owner")
    task_type = "regression"
    risk_tier = "medium"
    intended_use = "Tests."


_seeds = itertools.count(1000)


def version_create(model, actor, **kwargs):
    """A real version; each call uploads different weights, since an identical file is refused."""
    data = kwargs.pop("data", None) or onnx_bytes(seed=next(_seeds))
    return services.model_version_create(
        actor=actor, model=model, artifact=ContentFile(data, name="model.onnx"), **kwargs
    )


JUSTIFICATION = "Validated on the 2026 holdout; ready for the next stage."


class DatasetFactory(factory.django.DjangoModelFactory):
    """A dataset row and its stored file (a real two-row CSV), for evidence rows; uploads under test go through
    the service."""

    class Meta:
        model = Dataset
        django_get_or_create = ["model", "name"]

    model = factory.SubFactory(RegisteredModelFactory)
    name = "d"
    format = "csv"
    file = factory.django.FileField(filename="d.csv", data=b"a,y\n1,0\n")
    sha256 = factory.LazyAttribute(lambda d: hashlib.sha256(b"a,y\n1,0\n").hexdigest())
    size_bytes = 8
    row_count = 1
    columns = factory.LazyFunction(lambda: [{"name": "a", "dtype": "int64"}, {"name": "y", "dtype": "int64"}])
    label_column = "y"
    created_by = factory.SelfAttribute("model.owner")


class JobFactory(factory.django.DjangoModelFactory):
    """An evidence row as the runner leaves it (the runner itself is tested in tests/registry/jobs): succeeded and
    passed, on the version's artifact, judged by the model's floors and margin."""

    class Meta:
        model = Job

    kind = JobKind.VALIDATION
    version = None  # required
    artifact_sha256 = factory.SelfAttribute("version.sha256")
    queue = "cpu"
    status = JobStatus.SUCCEEDED
    verdict = Verdict.PASSED
    requested_by = factory.SelfAttribute("version.created_by")
    finished_at = None  # as the old rows of the history: set it where a test needs the moment
    dataset = factory.LazyAttribute(
        lambda j: DatasetFactory(model=j.version.model) if j.kind == JobKind.VALIDATION else None
    )
    parameters = factory.LazyAttribute(
        lambda j: (
            {"floors": j.version.model.metric_floors, "margin": j.version.model.noninferiority_margin}
            if j.kind == JobKind.VALIDATION
            else {}
        )
    )
    result = factory.LazyAttribute(lambda j: _evidence_result(j.version))


def _evidence_result(version) -> dict:
    """A passing result: compared with the version in production now, one benchmark batch within any SLO."""
    production = ModelVersion.objects.production_other_than(version)
    check = {
        "name": "non-inferiority",
        "verdict": "pass" if production else "skip",
        "message": "",
        "details": {"version": production.number} if production else {},
    }
    return {
        "runtime": {"device": "cpu", "provider": "CPUExecutionProvider"},
        "checks": [check],
        "results": [{"batch_size": 1, "latency_ms": {"p99": 1.0}, "throughput_samples_s": 5000.0}],
    }


def evidence(version, *kinds) -> list[Job]:
    """One passing evidence job of each kind on the version's artifact."""
    return [JobFactory(version=version, kind=kind) for kind in kinds]


def promote_to_production(version, users):
    """A version in test with passing evidence, promoted by the scientist and approved by IT and risk (the
    high tier's test -> production policy); returns the applied request."""
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    version.refresh_from_db()
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    request = approvals_services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=JUSTIFICATION
    )
    for role in ("itops", "reviewer"):
        approvals_services.promotion_request_decide(
            actor=users[role], request=request, decision="approve", comment="ok"
        )
    version.refresh_from_db()
    assert version.stage == Stage.PRODUCTION
    return request


class PromotionRequestFactory(factory.django.DjangoModelFactory):
    """A request row opened under the policy of its tier (requests under test are opened by the service)."""

    class Meta:
        model = PromotionRequest

    version = None  # required
    action = Action.PROMOTE
    from_stage = factory.SelfAttribute("version.stage")
    to_stage = factory.LazyAttribute(lambda r: transition_for(r.from_stage, r.action).target)
    justification = JUSTIFICATION
    requester = factory.SelfAttribute("version.created_by")
    artifact_sha256 = factory.SelfAttribute("version.sha256")
    policy = factory.LazyAttribute(
        lambda r: Policy.objects.get(
            risk_tier=r.version.model.risk_tier, transition=transition_for(r.from_stage, r.action).key
        ).snapshot()
    )
    # As promotion_request_open keeps them: no decision yet, so every role the policy names is waiting.
    waiting_roles = factory.LazyAttribute(lambda r: PromotionRequest.waiting_roles_for(r.policy["approvals"], {}))
    artifact_author = factory.LazyAttribute(lambda r: r.version.created_by if r.action == Action.PROMOTE else None)


class ObservationFactory(factory.django.DjangoModelFactory):
    """What a serving system reported, already judged (the judging is tested in tests/registry/test_monitoring)."""

    class Meta:
        model = Observation

    version = None  # required
    observed_at = factory.LazyFunction(timezone.now)
    metrics = factory.LazyFunction(lambda: {"accuracy": 0.9})
    degradation = 0.0
    reported_by = factory.SelfAttribute("version.created_by")
