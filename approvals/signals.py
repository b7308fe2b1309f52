"""What the workflow announces, for other apps to react to without the workflow importing them.

Sent after the transaction that made the fact has committed. Receivers connect in their own app's
AppConfig.ready() (the dashboard refreshes the debt of the models a release moved).
"""

from django.dispatch import Signal

# A version changed stage (a request applied: promoted, superseded, retired, rolled back). kwargs: version_id,
# model_id (ints), from_stage, to_stage (str). Sender: ModelVersion.
version_stage_changed = Signal()

# A finding was opened, edited or changed status (its model's debt may have moved). kwargs: finding_id,
# model_id (ints). Sender: Finding.
finding_changed = Signal()
