"""What the registry announces, for other apps to react to without the registry importing them.

Each is sent after the transaction that made the fact has committed, so a receiver reads it as stored.
Receivers connect in their own app's AppConfig.ready() and call their own services (approvals re-checks
waiting requests, for instance).
"""

from django.dispatch import Signal

# A model's card, thresholds or other attributes changed. kwargs: model_id (int), changed (frozenset of
# field names). Sender: RegisteredModel.
model_changed = Signal()

# A job finished with evidence about a version's artifact (succeeded, whatever its verdict). kwargs:
# version_id (int), job_id (int), kind ("validation" | "benchmark"). Sender: Job.
version_evidence_recorded = Signal()

# Asked, not announced: which device must a benchmark of this version run on for the workflow to count it?
# kwargs: version (ModelVersion). A receiver returns "cpu", "gpu", a GPU class, or "" (any). Sender: ModelVersion.
benchmark_device_wanted = Signal()
