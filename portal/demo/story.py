"""The demo: a story of seven months, played through the same services as the pages on a clock set back
(time-machine). Models are registered, validated and benchmarked for real (onnxruntime, in this process),
promoted, rejected and rolled back by the demo people, and watched in production by observations computed
from the real models on samples of their data, one of them drifting. The dashboard's history is then the
backfill of that story: every figure traces to rows made the way production makes them."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.contrib.auth import get_user_model
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.text import slugify

from portal.core.models import Team
from portal.core.services import team_create
from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take
from portal.demo.accounts import DEMO_TEAMS, DEMO_USERS
from portal.demo.catalog import demo_models
from portal.demo.steps import (
    Ctx,
    ask,
    decide,
    evidence,
    find,
    observe,
    register,
    resolve,
    update_card,
    upload,
    users_create,
)
from registry.models import Dataset, ModelVersion, RegisteredModel

STORY_DAYS = 210


def timeline(ctx: Ctx) -> list[tuple[float, object]]:
    """(days before now, step). Steps run in time order, so the audit log reads as a history."""
    s: list[tuple[float, object]] = []

    def at(days: float, fn, *args, **kwargs):
        s.append((days, lambda: fn(ctx, *args, **kwargs)))

    # tumor-malignancy (critical): shipped, superseded, rolled back within days, shipped again; watched daily.
    at(200, register, "tumor-malignancy")
    at(199.9, upload, "tumor-malignancy", 0)
    at(199.8, evidence, "tumor-malignancy", 1, "validation", "scientist")
    at(
        199.7,
        ask,
        "t1-test",
        "tumor-malignancy",
        1,
        "promote",
        "scientist",
        "Logistic baseline validated on the hold-out; ready for the clinical test bench.",
    )
    at(198, decide, "t1-test", "forecaster", "approve", "Validation and card reviewed; fine for test.")
    at(197, evidence, "tumor-malignancy", 1, "benchmark", "scientist")
    at(
        196.9,
        ask,
        "t1-prod",
        "tumor-malignancy",
        1,
        "promote",
        "scientist",
        "Two weeks on the test bench without an incident; first production release.",
    )
    at(195.5, decide, "t1-prod", "itops", "approve", "Latency within the SLO on the CPU pool.")
    at(195.4, decide, "t1-prod", "itops2", "approve", "Second IT approval for a critical model.")
    at(195.3, decide, "t1-prod", "reviewer", "approve", "Risk review done; monitoring plan agreed.")
    at(120, upload, "tumor-malignancy", 1)
    at(119.9, evidence, "tumor-malignancy", 2, "validation", "scientist")
    at(
        119.8,
        ask,
        "t2-test",
        "tumor-malignancy",
        2,
        "promote",
        "scientist",
        "Less regularised: better calibrated, recall within the agreed margin.",
    )
    at(119, decide, "t2-test", "forecaster", "approve", "Looks fine for test.")
    at(118, evidence, "tumor-malignancy", 2, "benchmark", "scientist")
    at(117.9, ask, "t2-prod", "tumor-malignancy", 2, "promote", "scientist", "Replaces v1 after a week in test.")
    at(116, decide, "t2-prod", "itops", "approve", "OK.")
    at(115.9, decide, "t2-prod", "itops2", "approve", "OK.")
    at(115.8, decide, "t2-prod", "reviewer", "approve", "Approved.")
    at(
        113,
        ask,
        "t1-rollback",
        "tumor-malignancy",
        1,
        "rollback",
        "itops",
        "v2 flags too many benign cases at the partner clinic; back to v1 while we look.",
    )
    at(112.9, decide, "t1-rollback", "itops2", "approve", "Agreed, roll back now.")
    at(62, upload, "tumor-malignancy", 2)
    at(61.9, evidence, "tumor-malignancy", 3, "validation", "scientist")
    at(61.8, ask, "t3-test", "tumor-malignancy", 3, "promote", "scientist", "Gradient boosting; fixes the v2 issue.")
    at(60, decide, "t3-test", "forecaster", "approve", "Fine for test.")
    at(59, evidence, "tumor-malignancy", 3, "benchmark", "itops")
    at(58.9, ask, "t3-prod", "tumor-malignancy", 3, "promote", "scientist", "Clinic pilot passed; replaces v1.")
    # The risk review of v3 finds a gap; it is fixed and verified before the last approvals, so v3 ships.
    at(
        58.5,
        find,
        "t3-site",
        "tumor-malignancy",
        3,
        "reviewer",
        "high",
        "Recall at the partner clinic is not reported on its own",
        "v2 failed at the partner clinic, yet v3's validation reports recall over all sites only. Report it per "
        "site before production.",
        7,
        request="t3-prod",
    )
    at(
        58.4,
        find,
        "t3-scanners",
        "tumor-malignancy",
        3,
        "reviewer",
        "low",
        "The model card does not name the scanner models in the training data",
        "Section 'training data' lists the clinics but not the scanner models, which changes how far the results "
        "carry to a new site.",
        30,
        request="t3-prod",
    )
    at(
        57,
        resolve,
        "t3-site",
        "scientist",
        "remediate",
        "Validation dataset split by site: recall 0.95 at the partner clinic, 0.97 elsewhere.",
    )
    at(56, resolve, "t3-site", "itops", "verify", "Checked the per-site figures against the pilot report.")
    at(
        55.5,
        resolve,
        "t3-scanners",
        "reviewer",
        "accept",
        "Low impact for this release: the two scanner models are the same at every partner site today.",
    )
    at(55, decide, "t3-prod", "itops", "approve", "OK.")
    at(54.9, decide, "t3-prod", "itops2", "approve", "OK.")
    at(54.8, decide, "t3-prod", "reviewer", "approve", "Approved after the pilot report.")
    for day in range(195, 0, -1):
        at(day - 0.5, observe, "tumor-malignancy", seed=day)

    # wine-cultivar (high): card completed late; in production half a year; drifting for the last six weeks;
    # its replacement waits in the approval queue. Its validation is older than the tier's 180 days.
    at(205, register, "wine-cultivar")
    at(204.9, upload, "wine-cultivar", 0)
    at(197, evidence, "wine-cultivar", 1, "validation", "scientist")
    at(196, update_card, "wine-cultivar")
    at(195.9, ask, "w1-test", "wine-cultivar", 1, "promote", "scientist", "Card complete; validated.")
    at(195, decide, "w1-test", "forecaster", "approve", "OK for test.")
    at(194, evidence, "wine-cultivar", 1, "benchmark", "scientist")
    at(193.9, ask, "w1-prod", "wine-cultivar", 1, "promote", "scientist", "Ready for the cellar-planning app.")
    at(190, decide, "w1-prod", "itops", "approve", "OK.")
    at(189.9, decide, "w1-prod", "reviewer", "approve", "Low impact; approved.")
    for day in range(189, 0, -3):
        at(day - 0.4, observe, "wine-cultivar", seed=1000 + day, drift=max(0.0, (42 - day) / 42 * 0.45))
    at(30, upload, "wine-cultivar", 1)
    at(29.9, evidence, "wine-cultivar", 2, "validation", "scientist")
    at(
        29.8,
        ask,
        "w2-test",
        "wine-cultivar",
        2,
        "promote",
        "scientist",
        "Retrained with less regularisation; as accurate on the hold-out.",
    )
    at(28, decide, "w2-test", "forecaster", "approve", "OK for test.")
    at(27, evidence, "wine-cultivar", 2, "benchmark", "scientist")
    at(
        20,
        ask,
        "w2-prod",
        "wine-cultivar",
        2,
        "promote",
        "scientist",
        "v1 is drifting since the supplier change; v2 holds up. Please approve soon.",
    )

    # The replacement's risk review: the supplier change is outside its training window. Remediated, not yet
    # verified, and past its due date: it holds v2 back and counts as debt.
    at(
        18,
        find,
        "w2-supplier",
        "wine-cultivar",
        2,
        "reviewer",
        "high",
        "The new supplier's grapes are outside v2's training window",
        "v2 was trained on data up to the month before the supplier change; its hold-out says nothing about the "
        "batches that made v1 drift.",
        14,
        request="w2-prod",
    )
    at(
        6,
        resolve,
        "w2-supplier",
        "scientist",
        "remediate",
        "Added the last three months, including 240 samples from the new supplier, to the evaluation set.",
    )

    # iris-species (low): shipped, then its serving side stopped reporting six weeks ago; v2 in design.
    at(175, register, "iris-species")
    at(174.9, upload, "iris-species", 0, trained_days_before=4)
    at(165, evidence, "iris-species", 1, "validation", "scientist")
    at(164.9, ask, "i1-test", "iris-species", 1, "promote", "scientist", "Validated; low risk.")
    at(162, evidence, "iris-species", 1, "benchmark", "scientist")
    at(161.9, ask, "i1-prod", "iris-species", 1, "promote", "scientist", "Ship it to the garden-centre app.")
    at(158, decide, "i1-prod", "itops", "approve", "OK.")
    for day in range(157, 44, -7):
        at(day - 0.3, observe, "iris-species", seed=2000 + day)
    at(
        40,
        find,
        "i1-silent",
        "iris-species",
        1,
        "itops",
        "medium",
        "Production stopped sending observations",
        "The garden-centre app has sent no observation since its release of last month; nobody watches v1 now.",
        21,
    )
    at(20, upload, "iris-species", 1)

    # diabetes-progression (high): reached test, refused production, on the shelf since.
    at(182, register, "diabetes-progression")
    at(181.9, upload, "diabetes-progression", 0)
    at(180, evidence, "diabetes-progression", 1, "validation", "forecaster")
    at(179.9, ask, "d1-test", "diabetes-progression", 1, "promote", "forecaster", "Ridge baseline validated.")
    at(178, decide, "d1-test", "scientist", "approve", "OK for test.")
    at(171, evidence, "diabetes-progression", 1, "benchmark", "forecaster")
    at(170.9, ask, "d1-prod", "diabetes-progression", 1, "promote", "forecaster", "Ready for the clinic planner.")
    at(166, decide, "d1-prod", "reviewer", "reject", "R² of 0.4 is too weak for planning treatment; improve it.")
    at(40, upload, "diabetes-progression", 1)

    # digit-recognizer (medium): registered with half a card; still in design.
    at(90, register, "digit-recognizer")
    at(89.9, upload, "digit-recognizer", 0)
    return s


def load_demo_data(*, stdout=None) -> dict[str, int]:
    """Play the demo history once. On a database that has it already, nothing changes."""
    names = [m.name for m in demo_models()]
    existing = RegisteredModel.objects.filter(name__in=names).count()
    if existing == len(names):
        return {"models": 0, "versions": 0, "datasets": 0}
    if existing:
        raise RuntimeError(
            "An earlier demo run stopped half-way. Start from an empty database (make clean), then load the demo again."
        )
    now = timezone.now().replace(microsecond=0)
    versions = ModelVersion.objects.count()
    # Emails of the played history are not sent; the people in it are fictional.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        with time_machine.travel(now - dt.timedelta(days=STORY_DAYS), tick=True):
            users = users_create()
            admin = get_user_model().objects.get(username="admin")
            for team_name in DEMO_TEAMS:
                if not Team.objects.filter(name=team_name).exists():
                    team_create(
                        name=team_name,
                        actor=admin,
                        members=[users[u] for u, _, _, teams in DEMO_USERS if slugify(team_name) in teams],
                    )
        ctx = Ctx(now=now, users=users)
        steps = sorted(timeline(ctx), key=lambda step: -step[0])
        clock = now - dt.timedelta(days=STORY_DAYS)
        for number, (days, step) in enumerate(steps, 1):
            # Never back in time, even when two steps share a moment: the audit log must read forwards.
            clock = max(now - dt.timedelta(days=days), clock + dt.timedelta(milliseconds=1))
            with time_machine.travel(clock, tick=True):
                step()
                clock = timezone.now()
            if stdout and number % 50 == 0:
                stdout.write(f"  {number} of {len(steps)} steps played\n")
    debt_backfill()
    debt_snapshot_take()
    return {
        "models": len(names),
        "versions": ModelVersion.objects.count() - versions,
        "datasets": Dataset.objects.count(),
    }
