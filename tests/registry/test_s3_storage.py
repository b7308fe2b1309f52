"""Artifacts on an S3-compatible store (moto's server, from PyPI, standing in for MinIO): the same upload,
validation and download as on the local folder, with the same digest."""

from __future__ import annotations

import hashlib
import socket

import boto3
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from moto.server import ThreadedMotoServer
from rest_framework.authtoken.models import Token

from registry.models import Dataset, ModelVersion
from registry.runner import run_job
from registry.services.jobs import job_create
from tests.factories import RegisteredModelFactory
from tests.onnx_files import iris_classifier

pytestmark = pytest.mark.django_db
BUCKET = "gatehouse-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str):
    """A boto3 client of the test server, to look into the bucket from outside the application."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def _use_s3(settings, endpoint: str) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "addressing_style": "path",
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    call_command("ensure_bucket", verbosity=0)


IRIS = iris_classifier()


def _round_trip(api, scientist, team, name: str) -> dict:
    """Upload through the API, validate as a worker does, download through the API."""
    data, x, y = IRIS
    model = RegisteredModelFactory(
        name=name, team=team, owner=scientist, task_type="multiclass", metric_floors={"accuracy": 0.9}
    )
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=scientist)[0].key}")

    uploaded = api.post(
        f"/api/v1/models/{name}/versions/",
        {"artifact": SimpleUploadedFile("iris.onnx", data, content_type="application/octet-stream")},
        format="multipart",
    )
    assert uploaded.status_code == 201, uploaded.content
    frame = pd.DataFrame(x, columns=["sl", "sw", "pl", "pw"])
    frame["species"] = y
    posted = api.post(
        f"/api/v1/models/{name}/datasets/",
        {
            "name": "all",
            "label_column": "species",
            "file": SimpleUploadedFile("iris.csv", frame.to_csv(index=False).encode(), content_type="text/csv"),
        },
        format="multipart",
    )
    assert posted.status_code == 201, posted.content
    version = ModelVersion.objects.get(model=model, number=1)
    job = job_create(
        actor=scientist, version=version, kind="validation", dataset=Dataset.objects.get(model=model), dispatch=False
    )
    assert run_job(job.pk, hostname="test-worker") == "succeeded"
    job.refresh_from_db()
    download = api.get(f"/api/v1/models/{name}/versions/1/artifact/")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    return {
        "uploaded": hashlib.sha256(data).hexdigest(),
        "registered": version.sha256,
        "downloaded": hashlib.sha256(body).hexdigest(),
        "verdict": job.verdict,
        "accuracy": job.result["metrics"]["accuracy"],
        "key": version.artifact.name,
    }


def test_the_same_upload_validation_and_download_on_s3_as_on_the_folder(api, scientist, team, settings, s3_server):
    local = _round_trip(api, scientist, team, "iris-local")
    _use_s3(settings, s3_server)
    remote = _round_trip(api, scientist, team, "iris-s3")
    assert local["uploaded"] == local["registered"] == local["downloaded"]
    assert remote["uploaded"] == remote["registered"] == remote["downloaded"] == local["downloaded"]
    assert remote["verdict"] == local["verdict"] == "passed" and remote["accuracy"] == local["accuracy"]

    client = s3_client(s3_server)
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert remote["key"] in keys  # the bytes live in the bucket, not on this disk


def test_readyz_reports_the_bucket(client, settings, s3_server):
    _use_s3(settings, s3_server)
    body = client.get("/readyz").json()
    assert body["checks"]["storage"] == {
        "status": "ok",
        "backend": f"s3 bucket {BUCKET}",
        "ms": body["checks"]["storage"]["ms"],
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "endpoint_url": "http://127.0.0.1:1"},
        },
    }
    down = client.get("/readyz")
    assert down.status_code == 503 and down.json()["failing"] == ["storage"]


def test_readyz_reports_a_missing_bucket(client, settings, s3_server):
    _use_s3(settings, s3_server)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "bucket_name": "no-such-bucket"},
        },
    }
    down = client.get("/readyz")
    assert down.status_code == 503 and down.json()["failing"] == ["storage"]
