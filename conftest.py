"""Project-wide pytest fixtures: every test gets its own artifact storage folder and an empty cache."""

import pytest
from django.core.cache import cache

pytest_plugins = ["tests.worker"]


@pytest.fixture(autouse=True)
def artifact_storage(settings, tmp_path):
    root = tmp_path / "artifacts"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    settings.GATEHOUSE_ARTIFACT_CACHE_DIR = str(tmp_path / "artifact-cache")  # a worker's cache, per test
    return root


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
