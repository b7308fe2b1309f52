"""Scale data for the benchmarks: a company's registry after two years, in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gatehouse_bench SECRET_KEY=bench \\
        .venv/bin/python bench/generate.py --yes-destroy-data [--models 10000] [--snapshot-days 730]

Writes, with bulk inserts, into the database DATABASE_URL names (it must be PostgreSQL, and everything in
it is deleted first, hence --yes-destroy-data): 50 teams, 10,000 models, 100,000 versions with their stage
changes (design → test → production → retired, one production version per model at most), promotion
requests with the decisions' outcomes, validation and benchmark jobs, weekly observations of production
versions (some drifting), and an audit log whose hash chain verifies. Then it takes the debt snapshots of
the last --snapshot-days days through the same backfill as production (portal.core.services.debt_backfill),
so the trend and the 30-day comparison read real snapshots.

The rows are made directly rather than through the services (which would take hours at this size); the
invariants the services keep are kept here and checked at the end (``--check`` only checks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

TIERS = (("low", 0.35), ("medium", 0.35), ("high", 0.2), ("critical", 0.1))
CARD_FIELDS = (
    "intended_use",
    "out_of_scope_use",
    "training_data",
    "evaluation_data",
    "metrics_description",
    "limitations",
    "ethical_considerations",
    "caveats",
)
BATCH = 5000


def _tier(rng: random.Random) -> str:
    x, acc = rng.random(), 0.0
    for tier, share in TIERS:
        acc += share
        if x < acc:
            return tier
    return "low"


def generate(
    models: int, versions_per_model: int, teams: int, days: int, seed: int, audit_events: int
) -> dict[str, int]:
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from approvals.models import PromotionRequest, StageChange
    from portal.core.audit import GENESIS_HASH, event_hash, event_payload
    from portal.core.models import AuditEvent, Team
    from portal.core.roles import Role, ensure_role_groups
    from registry.models import Dataset, Job, ModelVersion, Observation, RegisteredModel

    rng = random.Random(seed)
    now = timezone.now().replace(microsecond=0)
    start = now - dt.timedelta(days=days)
    User = get_user_model()
    counts: dict[str, int] = {}
    ensure_role_groups()  # flush emptied the groups and the default policies the migrations made
    import_module("approvals.migrations.0002_default_policies").create(apps, None)

    def at(fraction: float) -> dt.datetime:
        return start + dt.timedelta(seconds=fraction * days * 86400)

    # People and teams.
    password = make_password("bench-password")
    people = User.objects.bulk_create(
        [User(username=f"ds{i:03d}", password=password) for i in range(200)]
        + [User(username=f"it{i}", password=password) for i in range(10)]
        + [User(username=f"risk{i}", password=password) for i in range(5)]
        + [User(username="manager", password=password)]
    )
    groups = {g.name: g for g in Group.objects.all()}
    for user in people:
        role = {"ds": Role.DATA_SCIENTIST, "it": Role.IT_OPERATIONS, "ri": Role.RISK_REVIEWER}.get(
            user.username[:2], Role.MANAGER
        )
        user.groups.add(groups[role])
    scientists = people[:200]
    it_people = people[200:210]
    team_rows = Team.objects.bulk_create([Team(name=f"Team {i:02d}", slug=f"team-{i:02d}") for i in range(teams)])
    for i, team in enumerate(team_rows):
        team.members.add(*scientists[i * 4 : (i + 1) * 4])
    counts["teams"] = len(team_rows)

    # Models, spread over the period; most cards complete.
    model_rows = []
    for i in range(models):
        team_index = i % teams
        owner = scientists[team_index * 4 + rng.randrange(4)]
        card = {f: "Written for the benchmark." for f in CARD_FIELDS}
        if rng.random() < 0.2:
            card["caveats"] = ""
        model_rows.append(
            RegisteredModel(
                name=f"model-{i:05d}",
                team=team_rows[team_index],
                owner=owner,
                created_by=owner,
                risk_tier=_tier(rng),
                task_type="binary-classification",
                refresh_interval_days=rng.choice([90, 180, 365]),
                metric_floors={"accuracy": 0.8},
                slo_p99_latency_ms=5.0,
                slo_min_throughput=1000.0,
                **card,
            )
        )
    with transaction.atomic():
        RegisteredModel.objects.bulk_create(model_rows, batch_size=BATCH)
    born = {m.pk: rng.random() * 0.9 for m in model_rows}
    with connection.cursor() as cursor:  # created_at is auto_now_add: set the history's dates afterwards
        cursor.executemany(
            "UPDATE registry_registeredmodel SET created_at = %s WHERE id = %s",
            [(at(born[m.pk]), m.pk) for m in model_rows],
        )
    counts["models"] = len(model_rows)
    datasets = Dataset.objects.bulk_create(
        [
            Dataset(
                model=m,
                name="holdout",
                file=f"bench/{m.pk}.csv",
                format="csv",
                sha256="0" * 64,
                size_bytes=1,
                row_count=1000,
                columns=[],
                label_column="y",
                created_by=m.owner,
            )
            for m in model_rows
        ],
        batch_size=BATCH,
    )
    dataset_of = {d.model_id: d for d in datasets}

    # Requests carry the policy they were opened under, as the services snapshot it: the queue reads it.
    from approvals.models import Policy

    policies = {p.risk_tier: p.snapshot() for p in Policy.objects.filter(transition="test->production")}

    # Versions and their stage histories. Each version may go to test, then production; a later version in
    # production retires the earlier one; some models ship a rollback.
    versions, changes, requests, jobs, observations = [], [], [], [], []
    for m in model_rows:
        t = born[m.pk]
        production = None
        for number in range(1, versions_per_model + 1):
            t = min(0.999, t + rng.random() * (1 - born[m.pk]) / versions_per_model)
            digest = hashlib.sha256(f"{m.pk}-{number}".encode()).hexdigest()
            v = ModelVersion(
                model=m,
                number=number,
                artifact=f"bench/{digest}.onnx",
                sha256=digest,
                size_bytes=1000,
                created_by=m.owner,
                trained_at=at(t - 0.002),
                stage="design",
            )
            v._t = t  # the moment it was uploaded (fraction of the period)
            versions.append(v)
            if rng.random() < 0.45:  # reaches test
                t_test = min(0.9995, t + rng.random() * 0.01)
                v._moves = [("design", "test", t_test, None)]
                v.stage = "test"
                if rng.random() < 0.4:  # and production (about 18,000 promotions at 100,000 versions)
                    t_prod = min(0.9999, t_test + rng.random() * 0.02)
                    v._moves.append(("test", "production", t_prod, "promote"))
                    if production is not None:
                        production._moves.append(("production", "retired", t_prod, "supersede"))
                        production.stage = "retired"
                    v.stage = "production"
                    production = v
            else:
                v._moves = []
    with transaction.atomic():
        ModelVersion.objects.bulk_create(versions, batch_size=BATCH)
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE registry_modelversion SET created_at = %s WHERE id = %s", [(at(v._t), v.pk) for v in versions]
        )
    counts["versions"] = len(versions)

    for v in versions:
        m = v.model
        validated = at(v._t + 0.0005)
        jobs.append(
            Job(
                kind="validation",
                version=v,
                dataset=dataset_of[m.pk],
                artifact_sha256=v.sha256,
                queue="cpu",
                status="succeeded",
                verdict="passed" if rng.random() < 0.9 else "failed",
                requested_by=m.owner,
                parameters={"floors": {"accuracy": 0.8}, "margin": 0.01},
                result={"metrics": {"accuracy": 0.9}},
                started_at=validated,
                finished_at=validated,
                progress=100,
            )
        )
        jobs.append(
            Job(
                kind="benchmark",
                version=v,
                artifact_sha256=v.sha256,
                queue="cpu",
                status="succeeded",
                verdict="passed",
                requested_by=m.owner,
                result={"runtime": {"device": "cpu"}},
                started_at=validated,
                finished_at=validated,
                progress=100,
            )
        )
        for from_stage, to_stage, t, how in v._moves:
            request = None
            if how == "promote":
                request = PromotionRequest(
                    version=v,
                    action="promote",
                    from_stage=from_stage,
                    to_stage=to_stage,
                    justification="Benchmark data.",
                    requester=m.owner,
                    policy=policies[m.risk_tier],
                    artifact_sha256=v.sha256,
                    artifact_author=v.created_by,
                    status="applied",
                    closed_at=at(t),
                )
                request._opened = at(t - rng.random() * 0.01)
                requests.append(request)
            changes.append(
                (
                    StageChange(
                        version=v,
                        from_stage=from_stage,
                        to_stage=to_stage,
                        request=request,
                        actor=rng.choice(it_people),
                        reason="benchmark history",
                    ),
                    at(t),
                )
            )
        if v.stage == "production":  # weekly observations since it arrived, some drifting lately
            arrived = next(t for _f, to, t, _h in v._moves if to == "production")
            drifting = rng.random() < 0.1
            week = 7 / days
            t = arrived + week
            while t < 1 and rng.random() > 0.02:
                late = drifting and t > 0.97
                observations.append(
                    Observation(
                        version=v,
                        observed_at=at(t),
                        metrics={"accuracy": 0.7 if late else 0.9},
                        max_psi=0.3 if late else 0.02,
                        psi={},
                        below_floor=["accuracy"] if late else [],
                        degradation=1.0 if late else 0.0,
                        reported_by=it_people[0],
                        sample_count=1000,
                    )
                )
                t += week
    # A few requests still open (some past their SLA), and rejected ones.
    for v in rng.sample([v for v in versions if v.stage == "test"], k=min(2000, models // 5)):
        opened = now - dt.timedelta(days=rng.random() * 30)
        request = PromotionRequest(
            version=v,
            action="promote",
            from_stage="test",
            to_stage="production",
            justification="Benchmark data.",
            requester=v.model.owner,
            policy=policies[v.model.risk_tier],
            artifact_sha256=v.sha256,
            status="open" if rng.random() < 0.5 else "rejected",
            closed_at=None,
            artifact_author=v.created_by,
        )
        if request.status == "open":  # no decision yet: every role the policy names is waiting
            request.waiting_roles = PromotionRequest.waiting_roles_for(request.policy["approvals"], {})
        if request.status == "rejected":
            request.closed_at = opened + dt.timedelta(days=rng.random() * 5)
        request._opened = opened
        requests.append(request)
    with transaction.atomic():
        PromotionRequest.objects.bulk_create(requests, batch_size=BATCH)
        StageChange.objects.bulk_create([c for c, _ in changes], batch_size=BATCH)
        Job.objects.bulk_create(jobs, batch_size=BATCH)
        Observation.objects.bulk_create(observations, batch_size=BATCH)
        ModelVersion.objects.bulk_update(versions, ["stage"], batch_size=BATCH)
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE approvals_promotionrequest SET created_at = %s WHERE id = %s", [(r._opened, r.pk) for r in requests]
        )
        cursor.executemany(
            "UPDATE approvals_stagechange SET created_at = %s WHERE id = %s", [(when, c.pk) for c, when in changes]
        )
        cursor.execute("UPDATE registry_job SET created_at = finished_at")
    counts.update(requests=len(requests), stage_changes=len(changes), jobs=len(jobs), observations=len(observations))

    # The audit log, in time order with a valid chain: what the services record for each model, version, stage
    # change, job, request and observation; then card edits until there are ``audit_events`` events.
    pending = [
        (
            at(born[m.pk]),
            "registry.model.created",
            "registry.registeredmodel",
            m.pk,
            m.name,
            m.owner,
            {"risk_tier": m.risk_tier, "team": m.team.slug, **{f: getattr(m, f) for f in CARD_FIELDS}},
        )
        for m in model_rows
    ]
    pending += [
        (
            at(v._t),
            "registry.version.created",
            "registry.modelversion",
            v.pk,
            f"{v.model.name} v{v.number}",
            v.model.owner,
            {"sha256": v.sha256},
        )
        for v in versions
    ]
    pending += [
        (
            when,
            "registry.version.stage_changed",
            "registry.modelversion",
            c.version_id,
            f"{c.version.model.name} v{c.version.number}",
            c.actor,
            {"stage": c.to_stage},
        )
        for c, when in changes
    ]
    for job in jobs:
        text = f"{job.kind} of {job.version.model.name} v{job.version.number}"
        pending.append(
            (
                job.started_at,
                f"registry.job.{job.kind}.created",
                "registry.job",
                job.pk,
                text,
                job.requested_by,
                {"queue": job.queue},
            )
        )
        pending.append(
            (
                job.finished_at,
                f"registry.job.{job.status}",
                "registry.job",
                job.pk,
                text,
                None,
                {"status": job.status, "verdict": job.verdict},
            )
        )
    for r in requests:
        text = f"{r.action} {r.version.model.name} v{r.version.number}"
        pending.append(
            (
                r._opened,
                "approvals.request.opened",
                "approvals.promotionrequest",
                r.pk,
                text,
                r.requester,
                {"to_stage": r.to_stage},
            )
        )
        if r.closed_at:
            pending.append(
                (
                    r.closed_at,
                    f"approvals.request.{r.status}",
                    "approvals.promotionrequest",
                    r.pk,
                    text,
                    rng.choice(it_people),
                    {"status": r.status},
                )
            )
    pending += [
        (
            o.observed_at,
            "registry.observation.recorded",
            "registry.observation",
            o.pk,
            f"{o.version.model.name} v{o.version.number}",
            o.reported_by,
            {"max_psi": o.max_psi},
        )
        for o in observations
    ]
    for k in range(max(0, audit_events - len(pending))):
        m = model_rows[rng.randrange(len(model_rows))]
        pending.append(
            (
                at(born[m.pk] + rng.random() * (1 - born[m.pk])),
                "registry.model.updated",
                "registry.registeredmodel",
                m.pk,
                m.name,
                m.owner,
                {"description": f"Revision {k}"},
            )
        )
    pending.sort(key=lambda e: e[0])
    prev, place = GENESIS_HASH, 0
    for chunk in range(0, len(pending), BATCH * 4):  # in chunks: a million model instances at once is gigabytes
        events = []
        for when, action, object_type, object_id, text, actor, after in pending[chunk : chunk + BATCH * 4]:
            event = AuditEvent(
                created_at=when,
                actor=actor,
                actor_username=actor.username if actor else "",
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                object_repr=text,
                after=after,
                request_id="",
                ip=None,
                prev_hash=prev,
                seq=place + 1,
            )
            place += 1
            event.hash = prev = event_hash(prev, event_payload(event))
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=BATCH)
    counts["audit_events"] = len(pending)
    from approvals.milestones import rebuild

    rebuild()  # first upload / test / production per model, dwell entries: what the services keep as they go
    return counts


def check() -> list[str]:
    """The invariants the services keep, checked on what was written."""
    from django.db.models import Count

    from portal.core.audit import verify_chain
    from portal.core.models import AuditEvent
    from registry.models import ModelVersion

    problems = []
    doubled = ModelVersion.objects.filter(stage="production").values("model").annotate(n=Count("id")).filter(n__gt=1)
    if doubled.exists():
        problems.append(f"{doubled.count()} model(s) with two versions in production")
    checked, broken = verify_chain(AuditEvent.objects.order_by("id").iterator(chunk_size=20000))
    if broken:
        problems.append(f"audit chain broken at {broken.event_id}: {broken.reason}")
    return problems


def _create_database(url: str) -> None:
    """Make the benchmark's database on its server if it is not there yet."""
    import psycopg
    from psycopg import sql

    if not url.startswith(("postgres://", "postgresql://")):
        return
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--versions-per-model", type=int, default=10)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--days", type=int, default=730, help="the history's length")
    parser.add_argument("--snapshot-days", type=int, default=730, help="past days to backfill debt snapshots for")
    parser.add_argument(
        "--audit-events",
        type=int,
        default=1_000_000,
        help="audit events in all (card edits fill up what the history above does not make)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--yes-destroy-data", action="store_true", help="empty the database first (required)")
    parser.add_argument("--check", action="store_true", help="only check the invariants of what is there")
    args = parser.parse_args()

    if args.yes_destroy_data:
        _create_database(os.environ.get("DATABASE_URL", ""))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for the benchmark.")
    if args.check:
        problems = check()
        print("\n".join(problems) or "All invariants hold.")
        sys.exit(1 if problems else 0)
    if not args.yes_destroy_data:
        sys.exit(f"This empties {settings.DATABASES['default']['NAME']}; add --yes-destroy-data to go on.")
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    counts = generate(args.models, args.versions_per_model, args.teams, args.days, args.seed, args.audit_events)
    generated = time.perf_counter() - began
    from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take

    t = time.perf_counter()
    backfill = debt_backfill(since=timezone.localdate() - dt.timedelta(days=args.snapshot_days))
    today = debt_snapshot_take()
    snapshots = time.perf_counter() - t
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    problems = check()
    for key, value in counts.items():
        print(f"{key:>15}: {value:,}")
    print(f"{'snapshots':>15}: {backfill['rows'] + today:,} ({backfill['days'] + 1} days)")
    print(f"generated in {generated:.0f} s; snapshots in {snapshots:.0f} s")
    print("\n".join(problems) or "All invariants hold (one production version per model; audit chain verifies).")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
