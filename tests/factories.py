from __future__ import annotations

import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from portal.core.models import Team
from registry import services
from registry.models import RegisteredModel
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
