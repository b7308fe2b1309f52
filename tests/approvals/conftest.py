import pytest

from tests.factories import RegisteredModelFactory, version_create


@pytest.fixture
def world(users, team):
    """A high-risk model with a complete card and an SLO, and its first version (in design)."""
    model = RegisteredModelFactory(
        name="churn",
        team=team,
        owner=users["scientist"],
        risk_tier="high",
        slo_p99_latency_ms=10.0,
        slo_min_throughput=1000.0,
        **{
            f: "written"
            for f in (
                "out_of_scope_use",
                "training_data",
                "evaluation_data",
                "metrics_description",
                "limitations",
                "ethical_considerations",
                "caveats",
            )
        },
    )
    version = version_create(model, users["scientist"])
    return model, version
