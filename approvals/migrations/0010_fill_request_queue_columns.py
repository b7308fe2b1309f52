"""Fill the queue's columns (0009) from what is recorded: the promotion's artifact author from its version, and
each open request's roles still short of approvals from its policy snapshot and its decisions. (Its own
migration: PostgreSQL creates 0009's foreign-key index after the operations, which it refuses once rows of
the table were updated in the same transaction.)"""

from collections import Counter

from django.db import migrations
from django.db.models import OuterRef, Subquery

OPEN_STATUSES = ["open", "approved"]  # as approvals.choices has them when this migration was written


def fill(apps, schema_editor):
    PromotionRequest = apps.get_model("approvals", "PromotionRequest")
    Decision = apps.get_model("approvals", "Decision")
    ModelVersion = apps.get_model("registry", "ModelVersion")
    PromotionRequest.objects.filter(action="promote").update(
        artifact_author_id=Subquery(ModelVersion.objects.filter(pk=OuterRef("version_id")).values("created_by_id"))
    )
    given: dict[int, Counter] = {}
    for request_id, role in Decision.objects.filter(request__status__in=OPEN_STATUSES, decision="approve").values_list(
        "request_id", "role"
    ):
        given.setdefault(request_id, Counter())[role] += 1
    rows = []
    for request in PromotionRequest.objects.filter(status__in=OPEN_STATUSES).only("pk", "policy").iterator():
        needed = (request.policy or {}).get("approvals") or {}
        # The same rule as PromotionRequest.waiting_roles_for (a migration keeps its own copy).
        short = [role for role, count in needed.items() if given.get(request.pk, Counter())[role] < count]
        request.waiting_roles = f"|{'|'.join(short)}|" if short else ""
        rows.append(request)
    PromotionRequest.objects.bulk_update(rows, ["waiting_roles"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0009_request_queue_columns")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
