"""Signing in: wrong passwords are throttled per account and per address, with a page that says what happened
and an audit event; a correct password resets the count."""

from __future__ import annotations

import pytest

from portal.core.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"  # noqa: S105 - the factories' test password


def _sign_in(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_pause_the_account(client, scientist, itops):
    for _ in range(4):
        assert _sign_in(client, "dana", "guess").status_code == 200
    assert not AuditEvent.objects.filter(action="portal.user.locked_out").exists()
    fifth = _sign_in(client, "dana", "guess")
    assert fifth.status_code == 429 and "Sign-in paused" in fifth.content.decode()
    right = _sign_in(client, "dana", PASSWORD, address="10.0.0.2")  # the account, even from elsewhere
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # The pause, and the refused attempt during it, each leave a line in the log.
    event = AuditEvent.objects.filter(action="portal.user.locked_out").order_by("id").first()
    assert event.object_type == "auth.user" and event.object_id == str(scientist.pk)
    assert event.after == {"username": "dana", "ip": "10.0.0.1"}
    assert _sign_in(client, "ivo", PASSWORD, address="10.0.0.3").status_code == 302  # others are not paused


def test_an_address_guessing_many_accounts_is_paused(client, scientist):
    for name in ("a", "b", "c", "d", "e"):
        _sign_in(client, name, "guess", address="10.9.9.9")
    assert _sign_in(client, "dana", PASSWORD, address="10.9.9.9").status_code == 429
    assert AuditEvent.objects.filter(action="portal.user.locked_out", after__username="e").exists()
    assert _sign_in(client, "dana", PASSWORD, address="10.0.0.8").status_code == 302


def test_a_correct_password_resets_the_count(client, scientist):
    for _ in range(4):
        _sign_in(client, "dana", "guess")
    assert _sign_in(client, "dana", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _sign_in(client, "dana", "guess")
    assert _sign_in(client, "dana", PASSWORD).status_code == 302
