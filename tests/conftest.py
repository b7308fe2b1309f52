from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal.core.roles import Role
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def team(db):
    return TeamFactory(name="Risk Models", slug="risk-models")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Marketing", slug="marketing")


@pytest.fixture
def scientist(team):
    return UserFactory(username="dana", role=Role.DATA_SCIENTIST, teams=[team])


@pytest.fixture
def outsider_scientist(other_team):
    """A data scientist of another team."""
    return UserFactory(username="otto", role=Role.DATA_SCIENTIST, teams=[other_team])


@pytest.fixture
def itops(db):
    return UserFactory(username="ivo", role=Role.IT_OPERATIONS)


@pytest.fixture
def reviewer(db):
    return UserFactory(username="rita", role=Role.RISK_REVIEWER)


@pytest.fixture
def manager(db):
    return UserFactory(username="mona", role=Role.MANAGER)


@pytest.fixture
def users(scientist, outsider_scientist, itops, reviewer, manager):
    return {
        "scientist": scientist,
        "outsider": outsider_scientist,
        "itops": itops,
        "reviewer": reviewer,
        "manager": manager,
    }


@pytest.fixture
def api():
    return APIClient()
