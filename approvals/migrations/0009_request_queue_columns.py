"""The queue's columns on the request (approvals.selectors.queue_for); 0010 fills them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0008_findings"),
        ("registry", "0012_version_model_signing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="promotionrequest",
            name="artifact_author",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="promotionrequest",
            name="waiting_roles",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.AddIndex(
            model_name="promotionrequest",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "approved"])),
                fields=["created_at", "id"],
                name="approvals_request_open_idx",
            ),
        ),
    ]
