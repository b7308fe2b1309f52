"""/metrics cannot be grown by clients: every label takes a bounded set of values."""

from __future__ import annotations

import random
import string

import pytest

pytestmark = pytest.mark.django_db


def test_methods_a_client_invents_are_counted_under_one_label(client):
    client.generic("BREW", "/")  # the first invented method makes the "other" series
    before = len(client.get("/metrics").content.decode().splitlines())
    rng = random.Random(7)
    invented = ["".join(rng.choice(string.ascii_uppercase) for _ in range(10)) for _ in range(300)]
    for method in invented:
        client.generic(method, "/")
    text = client.get("/metrics").content.decode()
    assert not any(method in text for method in invented)
    assert 'method="other"' in text
    assert len(text.splitlines()) <= before + 5  # the "other" series grew in value, not in number
