"""What the kernel announces (sent after commit); the apps above react in their receivers."""

from django.dispatch import Signal

# A checkpoint of the audit chain was signed: ``checkpoint_id``, ``seq``, ``head_hash``, ``envelope``.
# approvals.receivers sends it to the webhooks that want "audit.checkpoint".
audit_checkpointed = Signal()
