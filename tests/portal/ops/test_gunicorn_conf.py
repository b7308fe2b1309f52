"""The production gunicorn settings: the access log can be turned off for measurements, and a worker that has
started has every view imported and the loaded objects frozen out of the garbage collector's scans."""

from __future__ import annotations

import gc
import importlib
import sys
import types

import pytest


@pytest.fixture
def conf(monkeypatch):
    def load(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop("portal.gunicorn_conf", None)
        return importlib.import_module("portal.gunicorn_conf")

    yield load
    sys.modules.pop("portal.gunicorn_conf", None)


def test_the_access_log_goes_to_stdout_unless_turned_off(conf, monkeypatch):
    monkeypatch.delenv("GUNICORN_ACCESSLOG", raising=False)
    assert conf().accesslog == "-"
    assert conf(GUNICORN_ACCESSLOG="").accesslog is None


def test_a_started_worker_warms_the_sandbox_and_freezes_what_it_loaded(conf, monkeypatch):
    warmed = []
    monkeypatch.setattr("registry.inspector.warm", lambda: warmed.append(True))
    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(gc.get_freeze_count()))
    module = conf()
    module.post_worker_init(types.SimpleNamespace())
    assert warmed == [True] and len(frozen) == 1
    assert "registry.api.views" in sys.modules and "approvals.api.views" in sys.modules  # every view imported
