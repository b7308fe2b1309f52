"""Fill the new milestone columns from the history already recorded (approvals.milestones.rebuild)."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from approvals.milestones import rebuild as rebuild_milestones

    rebuild_milestones(apps)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0005_stage_change_dwell"), ("registry", "0006_observations_and_milestones")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
