"""The importer: reads an MLflow server's registered models and versions and brings each ONNX version in through
the registry's upload service (``registry.services.model_version_create``); refuses every other flavour with
its reason, never unpickling anything. Driven by ``imports.services.runs``."""

from __future__ import annotations

import logging
import posixpath
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from imports import mapping
from imports.choices import AuditAction, NameConflict, Outcome
from imports.mlflow import (
    MODEL_FOLDER_METADATA,
    MlflowClient,
    MlflowError,
    TooLarge,
    flavors_of,
)
from imports.models import ImportedModel, ImportedVersion, ImportRun
from imports.services.version_facts import _choice, _gatehouse_tags, _notes, _run_facts
from portal.core.errors import ApplicationError
from portal.core.models import Team
from portal.core.roles import Role
from portal.core.services import audit_event_record
from registry.choices import RiskTier, TaskType
from registry.models import RegisteredModel
from registry.services import model_version_create, registered_model_create

logger = logging.getLogger("imports.services.runs")

CONVERT_HINT = "convert it with skl2onnx (or torch.onnx.export) and log it with mlflow.onnx.log_model"
MLMODEL_MAX_BYTES = 1024 * 1024

if TYPE_CHECKING:
    from imports.services.runs import Options, _MemorySink


def importer_account() -> AbstractBaseUser:
    """The account imported models and versions are created by (a data scientist that cannot sign in: no
    password), so an import started by IT operations passes the registry's team rule as any upload does."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=settings.GATEHOUSE_IMPORT_USER, defaults={"first_name": "MLflow", "last_name": "import"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    group = Group.objects.filter(name=Role.DATA_SCIENTIST).first()
    if group is not None and not user.groups.filter(pk=group.pk).exists():
        user.groups.add(group)
    return user_model.objects.get(pk=user.pk)  # fresh: no cached permissions or teams


class _Refused(Exception):
    pass


@dataclass
class _Target:
    """The Gatehouse model an MLflow model's versions go to: found, or to create (name and team)."""

    model: RegisteredModel | None
    name: str
    team: Team | None
    note: str = ""


class Importer:
    def __init__(self, *, client: MlflowClient, options: Options, sink: _MemorySink, run: ImportRun | None):
        self.client, self.options, self.sink, self.run = client, options, sink, run
        self.server = client.url
        self.max_bytes = settings.GATEHOUSE_IMPORT_MAX_ARTIFACT_MB * 1024 * 1024
        self.actor = None if options.dry_run else importer_account()
        self.teams = {t.slug: t for t in Team.objects.all()}
        self.claimed_names: set[str] = set()  # names this run gives out (a dry run creates none)

    # The models to read: one, or every one up to the limit.
    def _registered_models(self) -> list[dict]:
        if self.options.model:
            return [self.client.registered_model(self.options.model)]
        limit = settings.GATEHOUSE_IMPORT_MAX_MODELS
        models = []
        for rm in self.client.registered_models():
            if len(models) == limit:
                self.sink.line(
                    outcome=Outcome.REFUSED,
                    model="(the rest)",
                    reason=f"The server has more than {limit:,} registered models, the most one import reads "
                    "(GATEHOUSE_IMPORT_MAX_MODELS); import the rest by name (--model) or raise the limit.",
                )
                break
            models.append(rm)
        return models

    def execute(self) -> None:
        models = self._registered_models()
        for i, rm in enumerate(models):
            try:
                self._model(rm)
            except MlflowError as exc:
                self.sink.line(outcome=Outcome.REFUSED, model=rm["name"], reason=f"MLflow could not be read: {exc}")
            self.sink.progress((i + 1) / len(models), f"{i + 1} of {len(models)} models read")
        if not models:
            self.sink.progress(1.0, "The server has no registered models")

    # --- one registered model ---

    def _model(self, rm: dict) -> None:
        name = rm["name"]
        tags = mapping.tag_dict(rm.get("tags"))
        aliases: dict[str, list[str]] = {}
        for a in rm.get("aliases") or []:
            aliases.setdefault(str(a["version"]), []).append(a["alias"])
        versions = self.client.model_versions(name)
        known = dict(
            ImportedVersion.objects.filter(server_url=self.server, mlflow_name=name).values_list("mlflow_version", "pk")
        )
        target: _Target | None = None
        refusal = ""
        for v in versions:
            number = str(v["version"])
            facts = {"aliases": sorted(aliases.get(number, [])), "stage": v.get("current_stage") or ""}
            if int(number) in known:
                self._known(name, number, known[int(number)], facts)
                continue
            if v.get("status", "READY") != "READY":
                self.sink.line(
                    outcome=Outcome.SKIPPED,
                    model=name,
                    version=number,
                    reason=f"Its status in MLflow is {v.get('status')}, not READY: the next import tries again.",
                )
                continue
            if target is None and not refusal:
                try:
                    target = self._target(name, tags)
                except _Refused as exc:
                    refusal = str(exc)
            if refusal:
                self.sink.line(outcome=Outcome.REFUSED, model=name, version=number, reason=refusal)
                continue
            try:
                self._version(rm, v, target, facts)
            except _Refused as exc:
                self.sink.line(outcome=Outcome.REFUSED, model=name, version=number, reason=str(exc), **facts)
            except MlflowError as exc:
                self.sink.line(
                    outcome=Outcome.REFUSED, model=name, version=number, reason=f"MLflow could not be read: {exc}"
                )

    def _known(self, name: str, number: str, pk: int, facts: dict) -> None:
        """Already imported: only MLflow's facts (aliases move, stages change) are brought up to date."""
        record = ImportedVersion.objects.select_related("version__model").get(pk=pk)
        changed = {k: v for k, v in facts.items() if getattr(record, k) != v}
        label = f"{record.version.model.name} v{record.version.number}"
        if changed and not self.options.dry_run:
            ImportedVersion.objects.filter(pk=pk).update(**changed, facts_updated_at=timezone.now())
        what = f"; its MLflow facts changed: {', '.join(f'{k} {v}' for k, v in changed.items())}" if changed else ""
        self.sink.line(
            outcome=Outcome.SKIPPED,
            model=name,
            version=number,
            gatehouse=label,
            reason=f"Already imported as {label}{what}.",
        )

    def _target(self, mlflow_name: str, tags: dict[str, str]) -> _Target:
        earlier = (
            ImportedModel.objects.select_related("model", "model__team")
            .filter(server_url=self.server, mlflow_name=mlflow_name)
            .first()
        )
        if earlier:
            return _Target(model=earlier.model, name=earlier.model.name, team=earlier.model.team)
        name = mapping.gatehouse_name(mlflow_name)
        if not name:
            raise _Refused(f"{mlflow_name!r} has no letter or digit to make a Gatehouse name of.")
        note = (
            f"Renamed {mlflow_name!r} to {name!r}: Gatehouse names are lowercase letters, digits and hyphens."
            if name != mlflow_name
            else ""
        )
        if self._taken(name):
            if self.options.name_conflict == NameConflict.REFUSE:
                raise _Refused(
                    f"A Gatehouse model is already named {name!r} and no import of {mlflow_name!r} made it: "
                    "rename one of them, or import with name conflicts suffixed."
                )
            n = 1
            while self._taken(mapping.suffixed(name, n)):
                n += 1
            renamed = mapping.suffixed(name, n)
            note = (note + " " if note else "") + f"{name!r} is taken by another model, so it is {renamed!r}."
            name = renamed
        o = self.options
        slug, how = mapping.team_slug_for(
            mlflow_name, tags, prefixes=o.prefixes, team_tag=o.team_tag, default=o.default_team
        )
        if slug is None:
            raise _Refused("No team owns it: give the import a default team, a prefix=team-slug line or a team tag.")
        team = self.teams.get(slug)
        if team is None:
            raise _Refused(f"Its team is {slug!r} (by {how}), but no Gatehouse team has that slug.")
        self.claimed_names.add(name)
        return _Target(model=None, name=name, team=team, note=note)

    def _taken(self, name: str) -> bool:
        return name in self.claimed_names or RegisteredModel.objects.filter(name=name).exists()

    # --- one version ---

    def _version(self, rm: dict, v: dict, target: _Target, facts: dict) -> None:
        name, number = rm["name"], str(v["version"])
        folder, onnx_name, files = self._artifact_files(name, number)
        if self.options.dry_run:
            self._would_import(name, number, target, files, facts)
            return
        run = self.client.run(v["run_id"]) if v.get("run_id") else None
        metrics, params, lineage = _run_facts(self.server, run)
        with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp, ExitStack() as stack:
            paths = self._download(folder, files, Path(tmp))
            artifact = stack.enter_context(paths[onnx_name].open("rb"))
            data = [stack.enter_context(p.open("rb")) for f, p in paths.items() if f != onnx_name]
            notes = _notes(self.server, rm, v, params, facts)
            try:
                with transaction.atomic():
                    self._join_team(target.model.team if target.model else target.team)
                    model = target.model or self._create_model(rm, target)
                    version = model_version_create(
                        actor=self.actor,
                        model=model,
                        artifact=artifact,
                        data=data,
                        metrics=metrics,
                        notes=notes,
                        **lineage,
                    )
                    ImportedVersion.objects.create(
                        server_url=self.server,
                        mlflow_name=name,
                        mlflow_version=int(number),
                        version=version,
                        run=self.run,
                        mlflow_run_id=v.get("run_id") or "",
                        source=v.get("source") or "",
                        artifact_uri=folder,
                        tags=mapping.tag_dict(v.get("tags")),
                        params=params,
                        **facts,
                    )
            except (ApplicationError, PermissionDenied) as exc:
                raise _Refused(f"The registry refused it: {exc}") from None
            except IntegrityError:
                raise _Refused("Another import brought this version in at the same moment.") from None
        target.model = model
        self.sink.line(
            outcome=Outcome.IMPORTED,
            model=name,
            version=number,
            gatehouse=f"{model.name} v{version.number}",
            url=version.get_absolute_url(),
            reason=target.note or "",
            **facts,
        )
        target.note = ""

    def _would_import(self, name: str, number: str, target: _Target, files: dict, facts: dict) -> None:
        self.sink.line(
            outcome=Outcome.WOULD_IMPORT,
            model=name,
            version=number,
            gatehouse=target.name,
            team=target.team.slug,
            reason=" ".join(filter(None, [target.note, f"{len(files)} file(s), {sum(files.values()):,} bytes."])),
            **facts,
        )
        target.note = ""

    def _download(self, folder: str, files: dict, tmp: Path) -> dict[str, Path]:
        """Each file of the version into ``tmp``, no larger than the limit allows."""
        paths = {}
        for filename in files:
            paths[filename] = tmp / filename
            with paths[filename].open("wb") as out:
                try:
                    self.client.download_artifact(posixpath.join(folder, filename), out, max_bytes=self.max_bytes)
                except TooLarge as exc:
                    raise _Refused(self._too_large(str(exc))) from None
        return paths

    def _too_large(self, what: str) -> str:
        return (
            f"{what}: an imported version may hold at most {settings.GATEHOUSE_IMPORT_MAX_ARTIFACT_MB:,} MB "
            "(GATEHOUSE_IMPORT_MAX_ARTIFACT_MB)."
        )

    def _artifact_files(self, name: str, number: str) -> tuple[str, str, dict[str, int]]:
        """The folder of the version's ONNX model, the model file's name and {file: size} of the model and
        its external data. Only MLmodel is read before the flavour is known: anything else is refused."""
        root = self.client.proxied_path(self.client.download_uri(name, number))
        try:
            mlmodel = self.client.read_artifact(posixpath.join(root, "MLmodel"), max_bytes=MLMODEL_MAX_BYTES)
        except TooLarge:
            raise _Refused("Its MLmodel file is over 1 MB: not an MLflow model's description.") from None
        except MlflowError as exc:
            raise _Refused(f"It has no MLmodel file, so it is not an MLflow model ({exc}).") from None
        try:
            flavors = flavors_of(mlmodel)
        except MlflowError as exc:
            raise _Refused(f"It cannot be read: {exc}.") from None
        if "onnx" not in flavors:
            raise _Refused(
                f"Its flavour is {', '.join(sorted(flavors))}, not ONNX: Gatehouse registers ONNX graphs, which it "
                f"can inspect without running them, and never unpickles a model. To import it, {CONVERT_HINT}."
            )
        onnx_model = str((flavors["onnx"] or {}).get("onnx_model") or "model.onnx")
        if onnx_model.startswith("/") or ".." in onnx_model.split("/"):
            raise _Refused(f"Its MLmodel names the ONNX file {onnx_model[:100]!r}, outside the model's folder.")
        folder = posixpath.join(root, posixpath.dirname(onnx_model)).rstrip("/")
        onnx_name = posixpath.basename(onnx_model)
        listing = {f["name"]: f["size"] for f in self.client.list_artifacts(folder) if not f["is_dir"]}
        if onnx_name not in listing:
            raise _Refused(f"Its MLmodel names {onnx_model!r}, which is not among its artifacts.")
        files = {f: size for f, size in listing.items() if f == onnx_name or f not in MODEL_FOLDER_METADATA}
        total = sum(files.values())
        if total > self.max_bytes:
            raise _Refused(self._too_large(f"Its files come to {total / 2**20:,.1f} MB"))
        return folder, onnx_name, files

    def _create_model(self, rm: dict, target: _Target) -> RegisteredModel:
        tags = mapping.tag_dict(rm.get("tags"))
        description = (rm.get("description") or "").strip()
        model = registered_model_create(
            actor=self.actor,
            name=target.name,
            team=target.team,
            task_type=_choice(tags.get("task_type"), TaskType, self.options.task_type),
            risk_tier=_choice(tags.get("risk_tier"), RiskTier, self.options.risk_tier),
            tags=_gatehouse_tags(tags),
            description=description[:300],
            **({"intended_use": description} if len(description) > 300 else {}),
        )
        ImportedModel.objects.create(
            server_url=self.server,
            mlflow_name=rm["name"],
            model=model,
            run=self.run,
            description=description,
            tags=tags,
        )
        return model

    def _join_team(self, team: Team) -> None:
        if team.members.filter(pk=self.actor.pk).exists():
            return
        team.members.add(self.actor)
        self.actor = get_user_model().objects.get(pk=self.actor.pk)  # its team ids are cached on the instance
        audit_event_record(
            actor=self.run.started_by if self.run else None,
            action=AuditAction.IMPORTER_JOINED_TEAM,
            obj=team,
            after={"user": self.actor.username, "team": team.slug, "run": self.run.pk if self.run else None},
        )
