import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.core.env import env_bool, env_int, env_list, env_str


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("Yes", True), ("off", False), ("0", False)]
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", default=not expected) is expected


def test_env_bool_refuses_a_typo_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("DEBUG", "treu")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='treu' is not a boolean"):
        env_bool("DEBUG", default=False)


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("N", "12x")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", 1)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 5, minimum=1)
    monkeypatch.setenv("HOSTS", "a.example, b.example,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_secret_from_file(monkeypatch, tmp_path):
    (tmp_path / "secret").write_text("s3cret\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "secret"))
    assert env_str("SECRET_KEY") == "s3cret"


def test_a_typo_stops_start_up(tmp_path):
    """The settings module itself refuses to load: a real start-up, in a child process."""
    env = {**os.environ, "DEBUG": "ture", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    proc = subprocess.run([sys.executable, "manage.py", "check"], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "DEBUG='ture' is not a boolean" in proc.stderr
