"""System checks of the signing key (`manage.py check`, and `check --deploy` before production)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from portal.core import keys


def signing_key(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A configured key that cannot sign stops every release: said at start-up, not at the first one."""
    problems: list[checks.CheckMessage] = []
    if settings.GATEHOUSE_SIGNING_KEY:
        try:
            keys.load_private(settings.GATEHOUSE_SIGNING_KEY.encode(), "GATEHOUSE_SIGNING_KEY")
        except ImproperlyConfigured as exc:
            problems.append(checks.Error(str(exc), id="gatehouse.E001"))
    try:
        keys.retired_keys()
    except ImproperlyConfigured as exc:
        problems.append(checks.Error(str(exc), id="gatehouse.E002"))
    return problems


def signing_key_deploy(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.GATEHOUSE_SIGNING_KEY:
        return []
    return [
        checks.Warning(
            "GATEHOUSE_SIGNING_KEY is not set: each process that signs generates a key of its own in "
            "$GATEHOUSE_VAR_DIR/keys/, and attestations signed by one (a worker) do not verify with the key "
            "another (the web process) publishes.",
            hint="Give every process the same key: GATEHOUSE_SIGNING_KEY_FILE=/run/secrets/signing_key "
            "(docker-compose.yml mounts secrets/signing-key.pem).",
            id="gatehouse.W001",
        )
    ]


def register() -> None:
    checks.register(signing_key)
    checks.register(signing_key_deploy, deploy=True)
