import pytest

from tests.portal.dashboard.history import build


@pytest.fixture
def history():
    """The constructed history (tests/portal/dashboard/history.py)."""
    return build()
