"""Direct uploads to the bucket (S3 multipart with presigned part URLs; moto's server stands in for S3 or
MinIO): the bytes go to the bucket, the server computes the digest from the stored object, and a version
made of them is copied into place inside the bucket. Refusals leave no row and no object."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from registry.manifests import root_digest
from registry.models import ModelVersion
from tests.factories import RegisteredModelFactory
from tests.registry.test_external_data import FIXTURE
from tests.registry.test_s3_storage import BUCKET, _use_s3, s3_client, s3_server  # noqa: F401 - the fixture
from transfers.models import Upload

pytestmark = pytest.mark.django_db
GRAPH = (FIXTURE / "model.onnx").read_bytes()
WEIGHTS = (FIXTURE / "model.onnx.data").read_bytes()


@pytest.fixture
def bucket(settings, s3_server):  # noqa: F811 - the fixture imported above
    _use_s3(settings, s3_server)
    settings.GATEHOUSE_S3_PART_MB = 5
    client = s3_client(s3_server)
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    for item in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):  # left by an earlier test
        client.abort_multipart_upload(Bucket=BUCKET, Key=item["Key"], UploadId=item["UploadId"])
    return client


def _keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _as(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def _put(url: str, data: bytes) -> str:
    # A type of its own: urllib's default (a form) makes the store try to parse the part as fields.
    request = urllib.request.Request(  # noqa: S310 - the bucket's own URL
        url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        return response.headers["ETag"]


def send(api, filename: str, content: bytes, *, spoil: bool = False) -> dict:
    started = api.post("/api/v1/uploads/direct/", {"filename": filename, "length": len(content)}, format="json")
    assert started.status_code == 201, started.json()
    body = started.json()
    parts = [
        {"number": p["number"], "etag": _put(p["url"], content[p["offset"] : p["offset"] + p["length"]])}
        for p in body["parts"]
    ]
    if spoil:
        parts[0]["etag"] = '"0123456789abcdef0123456789abcdef"'
    return api.post(body["complete_url"], {"parts": parts}, format="json")


def test_a_file_in_several_parts_goes_to_the_bucket_and_its_digest_is_read_from_the_object(api, scientist, bucket):
    content = os.urandom(11 * 1024 * 1024)  # three parts of at most 5 MB
    completed = send(_as(api, scientist), "model.onnx.data", content)
    assert completed.status_code == 200, completed.json()
    assert completed.json()["sha256"] == hashlib.sha256(content).hexdigest() and completed.json()["complete"]
    upload = Upload.objects.get()
    assert upload.part_size == 5 * 1024 * 1024 and _keys(bucket) == [f"incoming/{upload.pk}"]
    assert not upload.path.exists()  # nothing of it on this server


def test_a_version_from_direct_uploads_is_copied_into_place_inside_the_bucket(api, scientist, team, bucket, settings):
    RegisteredModelFactory(name="tiny", team=team, task_type="binary-classification")
    _as(api, scientist)
    graph = send(api, "model.onnx", GRAPH).json()["id"]
    weights = send(api, "model.onnx.data", WEIGHTS).json()["id"]
    response = api.post(
        "/api/v1/models/tiny/versions/", {"artifact_upload": graph, "data_uploads": [weights]}, format="json"
    )
    assert response.status_code == 201, response.json()
    version = ModelVersion.objects.get()
    assert version.sha256 == root_digest(version.files)
    assert _keys(bucket) == sorted(f["key"] for f in version.files)  # in place; nothing left under incoming/
    stored = bucket.get_object(Bucket=BUCKET, Key=version.files[1]["key"])["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == version.files[1]["sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert not Upload.objects.exists() and list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []


def test_a_refused_version_from_direct_uploads_leaves_no_row_and_no_object(api, scientist, team, bucket, settings):
    RegisteredModelFactory(name="tiny", team=team, task_type="binary-classification")
    _as(api, scientist)
    graph = send(api, "model.onnx", GRAPH).json()["id"]
    weights = send(api, "model.onnx.data", WEIGHTS[:1000]).json()["id"]
    response = api.post(
        "/api/v1/models/tiny/versions/", {"artifact_upload": graph, "data_uploads": [weights]}, format="json"
    )
    assert response.status_code == 400 and "the data file is truncated" in str(response.json())
    assert not ModelVersion.objects.exists() and not Upload.objects.exists() and _keys(bucket) == []
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []


def test_parts_the_bucket_did_not_receive_cannot_complete(api, scientist, bucket):
    response = send(_as(api, scientist), "w.bin", WEIGHTS, spoil=True)
    assert response.status_code == 400 and "could not join the parts" in response.json()["detail"]
    assert not Upload.objects.get().complete


def test_an_abandoned_direct_upload_is_aborted_when_deleted(api, scientist, bucket):
    started = _as(api, scientist).post("/api/v1/uploads/direct/", {"filename": "w.bin", "length": 10}, format="json")
    assert api.delete(f"/api/v1/uploads/direct/{started.json()['id']}/").status_code == 204
    assert not Upload.objects.exists()
    assert bucket.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_without_a_bucket_the_direct_way_says_to_use_the_resumable_one(api, scientist):
    response = _as(api, scientist).post("/api/v1/uploads/direct/", {"filename": "w.bin", "length": 10}, format="json")
    assert response.status_code == 409 and "/api/v1/uploads/" in response.json()["detail"]
    assert not Upload.objects.exists()
