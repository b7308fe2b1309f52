"""Named questions about the registry's rows, each written once (the managers of registry.models)."""

from __future__ import annotations

from django.db import models

from registry.choices import JobKind, JobStatus, Stage, Verdict


class ModelVersionQuerySet(models.QuerySet):
    def in_production(self):
        return self.filter(stage=Stage.PRODUCTION)

    def production_other_than(self, version):
        """The version of ``version``'s model that is in production, unless it is ``version`` itself: the
        champion a candidate is compared with, and what a promotion would replace."""
        return self.in_production().filter(model_id=version.model_id).exclude(pk=version.pk).first()


class JobQuerySet(models.QuerySet):
    def evidence(self, kind: str):
        """Jobs of ``kind`` that ran to the end (their verdict says pass or fail)."""
        return self.filter(kind=kind, status=JobStatus.SUCCEEDED)

    def passed_validations(self):
        return self.evidence(JobKind.VALIDATION).filter(verdict=Verdict.PASSED)

    def passed_validations_of(self, digest):
        """Passed validations of the artifact with this SHA-256 (a value, or an OuterRef to one): evidence
        binds to the bytes, not to the version's name."""
        return self.passed_validations().filter(artifact_sha256=digest)

    def in_flight(self):
        return self.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
