"""Each audit event gets its place in the chain (``seq``: 1, 2, 3… by id, no gaps), and signed checkpoints of
the chain get a table of their own. The events already recorded keep their hashes: ``seq`` is not hashed,
``audit_verify`` checks it against the event's place instead."""

from django.db import migrations, models

NUMBER = """
UPDATE portal_auditevent SET seq = numbered.place
FROM (SELECT id, row_number() OVER (ORDER BY id) AS place FROM portal_auditevent) AS numbered
WHERE portal_auditevent.id = numbered.id
"""


def number_events(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:  # the append-only trigger refuses UPDATE; the migration runs as the table's owner
        schema_editor.execute("ALTER TABLE portal_auditevent DISABLE TRIGGER portal_auditevent_append_only")
    schema_editor.execute(NUMBER)
    if postgresql:
        schema_editor.execute("ALTER TABLE portal_auditevent ENABLE TRIGGER portal_auditevent_append_only")


class Migration(migrations.Migration):
    dependencies = [("portal", "0007_debtrollup_shelf_help")]

    operations = [
        migrations.AddField(model_name="auditevent", name="seq", field=models.BigIntegerField(null=True)),
        migrations.RunPython(number_events, migrations.RunPython.noop),
        migrations.AlterField(model_name="auditevent", name="seq", field=models.BigIntegerField(unique=True)),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "seq",
                    models.BigIntegerField(help_text="The chain's length when signed: the place of its last event."),
                ),
                ("head_hash", models.CharField(help_text="The hash of that event.", max_length=64)),
                (
                    "reason",
                    models.CharField(help_text="schedule, or what prompted it (a release).", max_length=40),
                ),
                ("keyid", models.CharField(max_length=64)),
                ("envelope", models.JSONField(help_text="The signed checkpoint: a DSSE envelope.")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={"ordering": ["-seq", "-pk"]},
        ),
    ]
