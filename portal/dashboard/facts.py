"""The facts the debt index scores (portal.dashboard.formula.ModelFacts), for now and for any past moment.

One builder for both: the history is read once (stage changes, observations, jobs and requests carry their
times) and swept forwards, and at each moment asked for, every model's facts are assembled from the state
reached. For past moments a model's card, team, tier and refresh interval are replayed from the audit log
(``registry.model.created`` / ``.updated``); for now they are read as they stand. Owners' accounts are taken
as they are now. A backfill of two years costs one pass over the rows plus one pass over the models per day.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Q, QuerySet
from django.utils import timezone

from approvals.models import Finding, PromotionRequest, StageChange
from portal.core.compiled import Compiled
from portal.core.models import AuditEvent, Team
from portal.dashboard.figures import Scope
from portal.dashboard.formula import ModelFacts
from registry.choices import AuditAction, Stage
from registry.models import MODEL_CARD_FIELDS, Job, ModelVersion, Observation, RegisteredModel

_STAGE_ORDER = {Stage.DESIGN: 1, Stage.TEST: 2, Stage.PRODUCTION: 3}


def json_list(value) -> list[str]:
    """A JSON list read through values() comes back as text on some backends."""
    return list(json.loads(value) if isinstance(value, str) else value or [])


class _Rows:
    """Rows of one source in time order (each row's first item is its time), consumed up to a moment."""

    def __init__(self, rows: list, apply):
        self.rows, self.apply, self.next = rows, apply, 0

    def advance(self, until: dt.datetime) -> None:
        while self.next < len(self.rows) and self.rows[self.next][0] <= until:
            self.apply(self.rows[self.next])
            self.next += 1


def _sources(end: dt.datetime, scope: Scope, *, replay_attributes: bool) -> dict[str, QuerySet | list]:
    """Each source's rows up to ``end`` in time order (each row's first item is its time; a model's row is
    a dict)."""
    ids = scope.model_ids

    def only(path: str) -> Q:
        return Q(**{f"{path}__in": ids}) if ids else Q()

    models = RegisteredModel.objects.filter(only("id"), created_at__lte=end).order_by("created_at", "pk")
    fields = ("id", "name", "team_id", "risk_tier", "refresh_interval_days", "owner__is_active", "created_at")
    if not replay_attributes:  # the team as it stands, joined: no query for every team
        fields = (*fields, "team__name", "team__slug")
    rows: dict[str, QuerySet | list] = {
        "models": models.values(*fields, *MODEL_CARD_FIELDS),
        "versions": ModelVersion.objects.filter(only("model_id"), created_at__lte=end)
        .order_by("created_at", "pk")
        .values_list("created_at", "id", "model_id", "number", "sha256", "trained_at"),
        "changes": StageChange.objects.filter(only("version__model_id"), created_at__lte=end)
        .order_by("created_at", "pk")
        .values_list("created_at", "version_id", "to_stage", "request_id"),
        "requests": PromotionRequest.objects.filter(only("version__model_id"), created_at__lte=end)
        .order_by("created_at", "pk")
        .values_list("created_at", "id", "version_id", "closed_at"),
        "audit": [],
        "findings": Finding.objects.filter(only("version__model_id"), created_at__lte=end)
        .order_by("created_at", "pk")
        .values_list("created_at", "id", "version_id", "severity", "due_date", "resolved_at"),
    }
    # A subquery, not a list of ids: SQLite takes at most 32,766 parameters.
    ever_production = StageChange.objects.filter(
        only("version__model_id"), to_stage=Stage.PRODUCTION, created_at__lte=end
    ).values("version_id")
    rows["observations"] = (
        Observation.objects.filter(version_id__in=ever_production, observed_at__lte=end)
        .order_by("observed_at", "pk")
        .values_list("observed_at", "version_id", "degradation", "max_psi", "below_floor")
    )
    rows["validations"] = (
        Job.objects.passed_validations()
        .filter(version_id__in=ever_production, finished_at__lte=end)
        .order_by("finished_at", "pk")
        .values_list("finished_at", "version_id", "artifact_sha256")
    )
    if replay_attributes:
        audit = AuditEvent.objects.filter(
            object_type="registry.registeredmodel",
            created_at__lte=end,
            action__in=[AuditAction.MODEL_CREATED, AuditAction.MODEL_UPDATED],
        )
        if ids:
            audit = audit.filter(object_id__in=[str(i) for i in ids])
        rows["audit"] = audit.order_by("id").values_list("created_at", "object_id", "after")
    return rows


# One model now (its page's debt panel): the same reads, compiled once per process (portal.core.compiled).
_ONE_MODEL = {
    name: Compiled(
        lambda end, model_id, name=name: _sources(end, Scope(model_ids=[model_id]), replay_attributes=False)[name],
        end=dt.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC),  # stand-ins: no real value equals them
        model_id=-987_654_321,
    )
    for name in ("models", "versions", "changes", "requests", "findings", "observations", "validations")
}


def _read(end: dt.datetime, scope: Scope, *, replay_attributes: bool) -> dict[str, list]:
    if not replay_attributes and scope.model_ids and len(scope.model_ids) == 1:
        rows = {name: c.rows(end=end, model_id=scope.model_ids[0]) for name, c in _ONE_MODEL.items()}
        rows["audit"] = []
    else:
        rows = {
            name: list(source) for name, source in _sources(end, scope, replay_attributes=replay_attributes).items()
        }
    rows["models"] = [(m["created_at"], m) for m in rows["models"]]
    return rows


class _History:
    """Every source the facts come from, read once up to ``end``, and the state the sweep has reached."""

    def __init__(self, end: dt.datetime, scope: Scope, *, replay_attributes: bool):
        self.scope = scope
        # A replayed team is named by its slug, and may be any team; now, each model's own is on its row.
        self.replaying = replay_attributes
        self.teams = {t.id: t for t in Team.objects.all()} if replay_attributes else {}
        self.slugs = {t.slug: t for t in self.teams.values()}
        self.present: dict[int, dict] = {}  # model id → its row
        self.replayed: dict[int, dict] = defaultdict(dict)  # model id → attributes as the audit log left them
        self.version: dict[int, tuple] = {}  # version id → its row
        self.versions_of: dict[int, list[int]] = defaultdict(list)
        self.stage_of: dict[int, str] = {}
        self.first_test: dict[int, dt.datetime] = {}
        self.arrived: dict[int, tuple[dt.datetime, bool]] = {}  # version id → (time, through a request)
        self.last_observation: dict[int, tuple] = {}
        self.last_validation: dict[int, dict[str, dt.datetime]] = defaultdict(dict)
        self.open_requests: dict[int, tuple] = {}  # request id → (opened, id, version id, closed)
        self.findings: dict[int, list[tuple]] = defaultdict(list)  # version id → its findings' rows
        rows = _read(end, scope, replay_attributes=replay_attributes)
        # In this order at each moment: a model before its replayed attributes and its versions, and so on.
        self.sources = [
            _Rows(rows["models"], self._model),
            _Rows(rows["audit"], self._replay),
            _Rows(rows["versions"], self._version),
            _Rows(rows["changes"], self._change),
            _Rows(rows["observations"], self._observe),
            _Rows(rows["validations"], self._validate),
            _Rows(rows["requests"], self._request),
            _Rows(rows["findings"], self._finding),
        ]
        self.at: dt.datetime | None = None

    # --- the events ----------------------------------------------------------------------------------------

    def _model(self, row) -> None:
        self.present[row[1]["id"]] = row[1]

    def _replay(self, row) -> None:
        self.replayed[int(row[1])].update(row[2] or {})

    def _version(self, row) -> None:
        self.version[row[1]] = row
        self.stage_of[row[1]] = Stage.DESIGN
        self.versions_of[row[2]].append(row[1])

    def _change(self, row) -> None:
        when, vid, to_stage, request_id = row
        if vid not in self.version:  # a version dated after its own stage change: inconsistent rows are skipped
            return
        self.stage_of[vid] = to_stage
        model_id = self.version[vid][2]
        if to_stage == Stage.TEST:
            self.first_test.setdefault(model_id, when)
        if to_stage == Stage.PRODUCTION:
            self.arrived[vid] = (when, request_id is not None)

    def _observe(self, row) -> None:
        self.last_observation[row[1]] = row

    def _validate(self, row) -> None:
        self.last_validation[row[1]][row[2]] = row[0]

    def _request(self, row) -> None:
        self.open_requests[row[1]] = row

    def _finding(self, row) -> None:
        self.findings[row[2]].append(row)

    # --- the state at a moment -------------------------------------------------------------------------------

    def advance(self, at: dt.datetime) -> None:
        self.at = at
        for source in self.sources:
            source.advance(at)
        for rid in [rid for rid, r in self.open_requests.items() if r[3] is not None and r[3] <= at]:
            del self.open_requests[rid]  # closed by then

    def _oldest_open_requests(self) -> dict[int, tuple[dt.datetime, int]]:
        oldest: dict[int, tuple[dt.datetime, int]] = {}
        for opened, rid, vid, _closed in self.open_requests.values():
            if vid in self.version:
                model_id = self.version[vid][2]
                oldest[model_id] = min(oldest.get(model_id, (opened, rid)), (opened, rid))
        return oldest

    def facts(self) -> list[ModelFacts]:
        oldest = self._oldest_open_requests()
        out = []
        for model_id, row in self.present.items():
            f = self._model_facts(model_id, row)
            if f is None:
                continue
            self._add_versions(f)
            if model_id in oldest:
                f.open_request_at, f.open_request_id = oldest[model_id]
            out.append(f)
        return out

    def _model_facts(self, model_id: int, row: dict) -> ModelFacts | None:
        replayed = self.replayed.get(model_id, {})
        if self.replaying:
            team = self.slugs.get(replayed.get("team")) or self.teams[row["team_id"]]
            team_id, team_name, team_slug = team.id, team.name, team.slug
        else:
            team_id, team_name, team_slug = row["team_id"], row["team__name"], row["team__slug"]
        tier = replayed.get("risk_tier", row["risk_tier"])
        scope = self.scope
        if (scope.teams and team_slug not in scope.teams) or (scope.tiers and tier not in scope.tiers):
            return None
        card = {name: replayed.get(name, row[name]) for name in MODEL_CARD_FIELDS}
        return ModelFacts(
            id=model_id,
            name=row["name"],
            team_id=team_id,
            team=team_name,
            risk_tier=tier,
            refresh_interval_days=int(replayed.get("refresh_interval_days", row["refresh_interval_days"])),
            owner_active=row["owner__is_active"],
            card_complete=all(str(v or "").strip() for v in card.values()),
            live=False,
            first_test_at=self.first_test.get(model_id),
        )

    def _overdue(self, vid: int) -> list[tuple[int, str, dt.date]]:
        """The version's findings unresolved at the moment reached and past their due date. A finding resolved
        later counts until its resolution; one reopened counts as unresolved all along (its row keeps no
        earlier resolution: the audit log has it)."""
        today = timezone.localtime(self.at).date()
        return [
            (fid, severity, due)
            for _, fid, _, severity, due, resolved_at in self.findings.get(vid, ())
            if due < today and (resolved_at is None or resolved_at > self.at)
        ]

    def _add_versions(self, f: ModelFacts) -> None:
        for vid in self.versions_of.get(f.id, ()):
            stage = self.stage_of[vid]
            if stage == Stage.RETIRED:
                continue
            f.live = True
            if vid in self.findings:
                f.overdue_findings = sorted(f.overdue_findings + self._overdue(vid), key=lambda o: (o[2], o[0]))
            if _STAGE_ORDER[stage] > _STAGE_ORDER.get(f.stage, 0):
                f.stage = stage
            if stage != Stage.PRODUCTION:
                continue
            created, _, _, number, sha, trained = self.version[vid]
            f.production_number = number
            f.production_since, f.approved = self.arrived.get(vid, (created, False))
            f.trained_at = trained or created
            seen = self.last_observation.get(vid)
            if seen:
                f.last_observation_at, _, f.degradation, f.max_psi, below = seen
                f.below_floor = json_list(below)
            f.last_validation_at = self.last_validation.get(vid, {}).get(sha)


def facts_series(moments: list[dt.datetime], scope: Scope | None = None) -> Iterator[tuple[dt.datetime, list]]:
    """Yield ``(moment, facts)`` for each moment in ascending order, as the history stood then."""
    moments = sorted(moments)
    if not moments:
        return
    history = _History(moments[-1], scope or Scope(), replay_attributes=True)
    for at in moments:
        history.advance(at)
        yield at, history.facts()


def facts_at(at: dt.datetime, scope: Scope | None = None) -> list[ModelFacts]:
    """The facts as they stood at ``at``."""
    return next(facts_series([at], scope))[1]


def facts_now(scope: Scope | None = None, *, at: dt.datetime | None = None) -> list[ModelFacts]:
    """The facts of this moment: the same sweep, with the models' attributes as they stand."""
    at = at or timezone.now()
    history = _History(at, scope or Scope(), replay_attributes=False)
    history.advance(at)
    return history.facts()
