"""The settings for files: where artifacts and datasets are stored, what an upload may be, how it is parsed,
and each worker's cache. Kept apart from portal/settings.py (which imports all of it) for length; every value
comes from the environment, as there."""

from __future__ import annotations

from pathlib import Path

from portal.core.env import env_int, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GATEHOUSE_VAR_DIR", str(BASE_DIR / "var")))

# --- Storage: artifacts and datasets. A local folder by default. ------------------------------------------
ARTIFACT_ROOT = Path(env_str("GATEHOUSE_ARTIFACT_ROOT", str(VAR_DIR / "artifacts")))
# With GATEHOUSE_S3_BUCKET, artifacts and datasets live in an S3-compatible bucket (MinIO in the compose
# stack), so workers on other machines read the same bytes. Credentials: AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY (or any source boto3 reads).
S3_BUCKET = env_str("GATEHOUSE_S3_BUCKET")
if S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    _S3_ENDPOINT = env_str("GATEHOUSE_S3_ENDPOINT_URL") or None
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": _S3_ENDPOINT,
            "region_name": env_str("GATEHOUSE_S3_REGION") or None,
            "addressing_style": "path" if _S3_ENDPOINT else None,  # MinIO and other self-hosted stores
            "file_overwrite": False,
            "default_acl": None,
            "client_config": _BotoConfig(
                connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}
            ),
        },
    }
else:
    DEFAULT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ARTIFACT_ROOT)},
    }
# Uploads are spooled to disk and hashed chunk by chunk (registry.uploads); nothing is held in memory.
GATEHOUSE_MAX_UPLOAD_MB = env_int("GATEHOUSE_MAX_UPLOAD_MB", 20480, minimum=1)  # one file: a data file may be large
GATEHOUSE_ARTIFACT_MAX_FILES = env_int("GATEHOUSE_ARTIFACT_MAX_FILES", 256, minimum=1)
GATEHOUSE_ARTIFACT_MAX_MB = env_int("GATEHOUSE_ARTIFACT_MAX_MB", 65536, minimum=1)  # a version's files, in all
# Each worker keeps the artifacts it ran, content-addressed and verified, so a node fetches a model once.
GATEHOUSE_ARTIFACT_CACHE_DIR = env_str("GATEHOUSE_ARTIFACT_CACHE_DIR", str(VAR_DIR / "cache"))
GATEHOUSE_ARTIFACT_CACHE_MB = env_int("GATEHOUSE_ARTIFACT_CACHE_MB", 51200, minimum=1)
# TensorRT engines a benchmark with {"tensorrt": {"engine_cache": true}} builds, kept for the next run.
GATEHOUSE_TRT_ENGINE_CACHE_DIR = env_str(
    "GATEHOUSE_TRT_ENGINE_CACHE_DIR", str(Path(GATEHOUSE_ARTIFACT_CACHE_DIR) / "tensorrt")
)
# Resumable uploads (tus, /api/v1/uploads/): their bytes wait here until a version claims them. On the same file
# system as GATEHOUSE_UPLOAD_TEMP_DIR and the artifact folder, a claimed file is moved, never copied. The form
# sends files over GATEHOUSE_RESUMABLE_FORM_MB this way, with a progress bar and resuming after a break.
GATEHOUSE_RESUMABLE_DIR = env_str("GATEHOUSE_RESUMABLE_DIR", str(VAR_DIR / "uploads"))
GATEHOUSE_RESUMABLE_EXPIRE_H = env_int("GATEHOUSE_RESUMABLE_EXPIRE_H", 24, minimum=1)
GATEHOUSE_RESUMABLE_MAX_OPEN = env_int("GATEHOUSE_RESUMABLE_MAX_OPEN", 64, minimum=1)
GATEHOUSE_RESUMABLE_FORM_MB = env_int("GATEHOUSE_RESUMABLE_FORM_MB", 64, minimum=0)
# With S3 storage, /api/v1/uploads/direct/ signs a URL per part of this size (S3's floor is 5 MB, 10,000 parts).
GATEHOUSE_S3_PART_MB = env_int("GATEHOUSE_S3_PART_MB", 64, minimum=5)
FILE_UPLOAD_HANDLERS = ["registry.uploads.HashingUploadHandler"]
FILE_UPLOAD_TEMP_DIR = env_str("GATEHOUSE_UPLOAD_TEMP_DIR")
FILE_UPLOAD_PERMISSIONS = 0o640
# Untrusted files are parsed in a child process under these limits (registry.inspection).
GATEHOUSE_INSPECT_MEMORY_MB = env_int("GATEHOUSE_INSPECT_MEMORY_MB", 4096, minimum=256)
GATEHOUSE_INSPECT_TIMEOUT_S = env_int("GATEHOUSE_INSPECT_TIMEOUT_S", 300, minimum=5)
# What a dataset may hold, and a model's tags: each refused past its limit with a message naming it.
GATEHOUSE_DATASET_MAX_COLUMNS = env_int("GATEHOUSE_DATASET_MAX_COLUMNS", 10_000, minimum=2)
GATEHOUSE_DATASET_MAX_COLUMN_NAME = env_int("GATEHOUSE_DATASET_MAX_COLUMN_NAME", 200, minimum=1)
GATEHOUSE_MAX_TAGS = env_int("GATEHOUSE_MAX_TAGS", 20, minimum=0)
# What one observation from production may carry.
GATEHOUSE_OBSERVATION_MAX_METRICS = env_int("GATEHOUSE_OBSERVATION_MAX_METRICS", 100, minimum=1)
GATEHOUSE_OBSERVATION_MAX_FEATURES = env_int("GATEHOUSE_OBSERVATION_MAX_FEATURES", 2000, minimum=1)
