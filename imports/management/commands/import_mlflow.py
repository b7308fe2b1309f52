"""manage.py import_mlflow URL [--model NAME] [--team SLUG] [--mapping FILE] [--dry-run]: an import from an
MLflow tracking server, run here (not on a worker), listed on /imports/ like any other."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from imports import services
from imports.choices import NameConflict, RunStatus
from imports.mapping import mapping_file
from imports.models import ImportSource
from portal.core.errors import ApplicationError
from registry.choices import RiskTier, TaskType


class Command(BaseCommand):
    help = "Import registered models and their ONNX versions from an MLflow tracking server."

    def add_arguments(self, parser):
        parser.add_argument("url", help="the tracking server, e.g. http://mlflow:5000")
        parser.add_argument("--model", help="only this registered model (its MLflow name)")
        parser.add_argument("--team", help="the default team's slug (models no prefix or tag maps)")
        parser.add_argument("--mapping", help="a file of prefix=team-slug lines")
        parser.add_argument("--team-tag", help="an MLflow model tag whose value is the team's slug")
        parser.add_argument("--risk-tier", choices=RiskTier.values, help="for new models (default: medium)")
        parser.add_argument("--task-type", choices=TaskType.values, help="for new models without a task_type tag")
        parser.add_argument("--on-conflict", choices=NameConflict.values, help="a name taken by another model")
        parser.add_argument("--dry-run", action="store_true", help="list what would happen; write nothing")

    def handle(self, *args, **opts):
        try:
            url = services.runs.mapping_url(opts["url"])
            source = ImportSource.objects.filter(url=url).select_related("default_team").first()
            overrides = {
                "model": opts["model"],
                "default_team": opts["team"],
                "prefixes": mapping_file(opts["mapping"]) if opts["mapping"] else None,
                "team_tag": opts["team_tag"],
                "risk_tier": opts["risk_tier"],
                "task_type": opts["task_type"],
                "name_conflict": opts["on_conflict"],
            }
            if source:
                options = services.Options.of_source(source, **overrides)
            else:
                options = services.Options(url=url, **{k: v for k, v in overrides.items() if v is not None})
            if opts["dry_run"]:
                self._print(services.import_plan(options=options))
                return
            run = services.import_run_create(
                actor=None, options=options, source=source, trigger="command", dispatch=False
            )
            run = services.import_run_execute(run_id=run.pk)
        except (ApplicationError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self._print(run.report)
        self.stdout.write(f"Import #{run.pk}: {run.message}")
        if run.status == RunStatus.FAILED:
            raise CommandError(run.error)

    def _print(self, report: list[dict]) -> None:
        for line in report:
            where = f" -> {line['gatehouse']}" if line.get("gatehouse") else ""
            version = f" v{line['version']}" if line.get("version") else ""
            reason = f": {line['reason']}" if line.get("reason") else ""
            self.stdout.write(f"{line['outcome']:<13} {line['model']}{version}{where}{reason}")
