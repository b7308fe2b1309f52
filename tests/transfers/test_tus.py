"""Resumable uploads (tus 1.0.0 at /api/v1/uploads/) and the versions made from them: a broken connection
goes on from the last byte kept and ends with the right digest; every refusal says why and leaves nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from portal.core.models import AuditEvent
from registry.manifests import root_digest
from registry.models import ModelVersion
from tests.factories import RegisteredModelFactory
from tests.registry.test_external_data import FIXTURE
from tests.support import stored_files
from transfers import services
from transfers.models import Upload

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
OFFSET_TYPE = "application/offset+octet-stream"
GRAPH = (FIXTURE / "model.onnx").read_bytes()
WEIGHTS = (FIXTURE / "model.onnx.data").read_bytes()


@pytest.fixture(autouse=True)
def _folders(settings, tmp_path):
    settings.GATEHOUSE_RESUMABLE_DIR = str(tmp_path / "resumable")


def _as(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def _metadata(filename: str) -> str:
    return f"filename {base64.b64encode(filename.encode()).decode()}"


def create(api, filename: str, length: int, **headers):
    return api.post(
        "/api/v1/uploads/", HTTP_UPLOAD_LENGTH=str(length), HTTP_UPLOAD_METADATA=_metadata(filename), **TUS, **headers
    )


def patch(api, url: str, offset: int, body: bytes, **extra):
    return api.generic("PATCH", url, body, content_type=OFFSET_TYPE, HTTP_UPLOAD_OFFSET=str(offset), **TUS, **extra)


def send(api, filename: str, content: bytes) -> str:
    url = create(api, filename, len(content))["Location"]
    assert patch(api, url, 0, content).status_code == 204
    return url.rstrip("/").rsplit("/", 1)[1]


def _nothing_left(settings, artifact_storage) -> bool:
    parts = Path(settings.GATEHOUSE_RESUMABLE_DIR)
    return (
        not Upload.objects.exists()
        and not ModelVersion.objects.exists()
        and (not parts.exists() or list(parts.iterdir()) == [])
        and stored_files(artifact_storage) == []
        and list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []
    )


def test_options_says_what_the_server_speaks(api, scientist):
    response = _as(api, scientist).options("/api/v1/uploads/")
    assert response.status_code == 204 and response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) >= {"creation", "termination", "checksum", "expiration"}
    assert "sha256" in response["Tus-Checksum-Algorithm"] and int(response["Tus-Max-Size"]) > 0


def test_a_request_without_the_protocol_header_is_refused_with_412(api, scientist):
    response = _as(api, scientist).post("/api/v1/uploads/", HTTP_UPLOAD_LENGTH="10")
    assert response.status_code == 412 and response["Tus-Version"] == "1.0.0"
    assert "Tus-Resumable: 1.0.0" in response.json()["detail"]


def test_an_upload_in_parts_with_checksums_ends_with_its_sha256(api, scientist):
    _as(api, scientist)
    created = create(api, "model.onnx.data", len(WEIGHTS))
    assert created.status_code == 201 and created["Upload-Offset"] == "0" and "Upload-Expires" in created
    url = created["Location"]
    assert url.startswith("http://testserver/api/v1/uploads/") and created.json()["url"] == url
    half = len(WEIGHTS) // 2
    checksum = "sha256 " + base64.b64encode(hashlib.sha256(WEIGHTS[:half]).digest()).decode()
    first = patch(api, url, 0, WEIGHTS[:half], HTTP_UPLOAD_CHECKSUM=checksum)
    assert first.status_code == 204 and first["Upload-Offset"] == str(half)
    assert api.head(url, **TUS)["Upload-Offset"] == str(half)
    last = patch(api, url, half, WEIGHTS[half:])
    assert last.status_code == 204 and last["X-Checksum-SHA256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert api.get(url, **TUS).json()["complete"] is True
    assert AuditEvent.objects.filter(action="transfers.upload.started").count() == 1


class _Cut:
    """A request body that ends in a reset after ``keep`` bytes, as a client's dropped connection does."""

    def __init__(self, data: bytes, keep: int):
        self.data, self.keep, self.pos = data, keep, 0

    def read(self, size: int) -> bytes:
        if self.pos >= self.keep:
            raise ConnectionResetError("the client went away")
        chunk = self.data[self.pos : min(self.pos + size, self.keep)]
        self.pos += len(chunk)
        return chunk


def test_a_reset_keeps_what_arrived_and_the_upload_goes_on_to_the_right_digest(api, scientist):
    upload = services.upload_create(actor=scientist, length=len(WEIGHTS), filename="model.onnx.data")
    services.upload_append(upload=upload, offset=0, stream=_Cut(WEIGHTS, 50_000), length=len(WEIGHTS))
    assert Upload.objects.get().offset == 50_000 and upload.path.stat().st_size == 50_000
    url = f"/api/v1/uploads/{upload.pk}/"
    assert _as(api, scientist).head(url, **TUS)["Upload-Offset"] == "50000"
    assert patch(api, url, 0, WEIGHTS).status_code == 409  # from the start again: the server says where it stands
    rest = patch(api, url, 50_000, WEIGHTS[50_000:])
    assert rest.status_code == 204 and rest["X-Checksum-SHA256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert Upload.objects.get().path.read_bytes() == WEIGHTS


def test_a_reset_in_a_part_with_a_checksum_drops_the_part(scientist):
    upload = services.upload_create(actor=scientist, length=len(WEIGHTS), filename="w.bin")
    checksum = ("sha256", hashlib.sha256(WEIGHTS).digest())
    with pytest.raises(services.Refused, match="before the part was whole"):
        services.upload_append(upload=upload, offset=0, stream=_Cut(WEIGHTS, 50_000), length=None, checksum=checksum)
    assert Upload.objects.get().offset == 0 and upload.path.stat().st_size == 0


def test_a_part_whose_checksum_does_not_match_is_dropped_with_460(api, scientist):
    _as(api, scientist)
    url = create(api, "w.bin", 100)["Location"]
    wrong = "sha256 " + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = patch(api, url, 0, b"x" * 60, HTTP_UPLOAD_CHECKSUM=wrong)
    assert response.status_code == 460 and "does not match" in response.json()["detail"]
    assert api.head(url, **TUS)["Upload-Offset"] == "0" and Upload.objects.get().path.stat().st_size == 0


def test_refusals_name_the_problem(api, scientist, settings):
    _as(api, scientist)
    settings.GATEHOUSE_MAX_UPLOAD_MB = 1
    too_large = create(api, "big.bin", 2 * 1024 * 1024)
    assert too_large.status_code == 413 and "GATEHOUSE_MAX_UPLOAD_MB" in too_large.json()["detail"]
    assert create(api, "", 10).status_code == 400
    newline = create(api, "model.onnx.data\n", 10)  # `echo name | base64` keeps the newline
    assert newline.status_code == 400 and "control character" in newline.json()["detail"]
    url = create(api, "w.bin", 10)["Location"]
    assert patch(api, url, 0, b"x" * 11).status_code == 413  # past the announced length
    wrong_type = api.generic("PATCH", url, b"x", content_type="text/plain", HTTP_UPLOAD_OFFSET="0", **TUS)
    assert wrong_type.status_code == 415
    chunked = patch(api, url, 0, b"", CONTENT_LENGTH="")
    assert chunked.status_code == 411 and "Content-Length" in chunked.json()["detail"]
    settings.GATEHOUSE_RESUMABLE_MAX_OPEN = 1
    busy = create(api, "second.bin", 10)
    assert busy.status_code == 429 and "GATEHOUSE_RESUMABLE_MAX_OPEN" in busy.json()["detail"]


def test_an_upload_is_its_owners_alone_and_deleting_it_removes_its_bytes(api, scientist, outsider_scientist):
    url = create(_as(api, scientist), "w.bin", 10)["Location"]
    part = Upload.objects.get().path
    assert _as(api, outsider_scientist).head(url, **TUS).status_code == 404
    assert patch(api, url, 0, b"x" * 10).status_code == 404
    assert _as(api, scientist).delete(url, **TUS).status_code == 204
    assert not Upload.objects.exists() and not part.exists()
    assert AuditEvent.objects.filter(action="transfers.upload.discarded").count() == 1


@pytest.mark.parametrize("role", ["reviewer", "manager"])
def test_people_who_register_nothing_cannot_upload(api, request, role):
    response = create(_as(api, request.getfixturevalue(role)), "w.bin", 10)
    assert response.status_code == 403 and not Upload.objects.exists()


def test_the_sweep_removes_uploads_left_untouched_and_stray_parts(scientist, settings):
    old = services.upload_create(actor=scientist, length=10, filename="old.bin")
    fresh = services.upload_create(actor=scientist, length=10, filename="fresh.bin")
    Upload.objects.filter(pk=old.pk).update(touched_at=timezone.now() - dt.timedelta(hours=25))
    stray = Path(settings.GATEHOUSE_RESUMABLE_DIR) / "00000000-0000-0000-0000-000000000000.part"
    stray.write_bytes(b"x")
    import os  # noqa: PLC0415

    os.utime(stray, (0, 0))
    assert services.uploads_sweep() == 2
    assert list(Upload.objects.values_list("pk", flat=True)) == [fresh.pk] and not old.path.exists()
    assert not stray.exists() and fresh.path.exists()


@pytest.fixture
def tiny(team):
    return RegisteredModelFactory(name="tiny", team=team, task_type="binary-classification")


def test_a_version_from_finished_uploads_has_the_sets_digest_and_uses_them_up(api, scientist, tiny, settings):
    _as(api, scientist)
    graph, weights = send(api, "model.onnx", GRAPH), send(api, "model.onnx.data", WEIGHTS)
    response = api.post(
        "/api/v1/models/tiny/versions/",
        {"artifact_upload": graph, "data_uploads": [weights], "source_commit": "abcdef1"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [f["path"] for f in body["files"]] == ["model.onnx", "model.onnx.data"]
    assert body["sha256"] == root_digest(body["files"])
    assert [f["sha256"] for f in body["files"]] == [hashlib.sha256(b).hexdigest() for b in (GRAPH, WEIGHTS)]
    assert not Upload.objects.exists() and list(Path(settings.GATEHOUSE_RESUMABLE_DIR).iterdir()) == []


def test_a_refused_version_from_uploads_leaves_nothing(api, scientist, tiny, settings, artifact_storage):
    _as(api, scientist)
    graph, weights = send(api, "model.onnx", GRAPH), send(api, "model.onnx.data", WEIGHTS[:1000])
    response = api.post(
        "/api/v1/models/tiny/versions/", {"artifact_upload": graph, "data_uploads": [weights]}, format="json"
    )
    assert response.status_code == 400 and "the data file is truncated" in str(response.json())
    assert _nothing_left(settings, artifact_storage)


def test_an_unfinished_or_unknown_upload_cannot_make_a_version(api, scientist, tiny):
    _as(api, scientist)
    url = create(api, "model.onnx", len(GRAPH))["Location"]
    unfinished = url.rstrip("/").rsplit("/", 1)[1]
    response = api.post("/api/v1/models/tiny/versions/", {"artifact_upload": unfinished}, format="json")
    assert response.status_code == 400 and f"has 0 of its {len(GRAPH):,} bytes" in str(response.json())
    unknown = api.post(
        "/api/v1/models/tiny/versions/", {"artifact_upload": "00000000-0000-0000-0000-000000000001"}, format="json"
    )
    assert unknown.status_code == 400 and "No upload of yours" in str(unknown.json())
    neither = api.post("/api/v1/models/tiny/versions/", {"notes": "x"}, format="json")
    assert neither.status_code == 400 and "artifact_upload" in str(neither.json())


def test_someone_elses_upload_cannot_make_a_version(api, scientist, outsider_scientist, tiny):
    graph = send(_as(api, outsider_scientist), "model.onnx", GRAPH)
    response = _as(api, scientist).post("/api/v1/models/tiny/versions/", {"artifact_upload": graph}, format="json")
    assert response.status_code == 400 and "No upload of yours" in str(response.json())
    assert Upload.objects.filter(owner=outsider_scientist).exists()  # theirs is untouched


def test_the_form_registers_the_uploads_its_script_sent(api, client, scientist, tiny):
    _as(api, scientist)
    graph, weights = send(api, "model.onnx", GRAPH), send(api, "model.onnx.data", WEIGHTS)
    client.force_login(scientist)
    response = client.post("/models/tiny/versions/new/", {"artifact_upload": graph, "data_uploads": weights})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert ModelVersion.objects.get().is_set and not Upload.objects.exists()
    page = client.get("/models/tiny/versions/new/").content.decode()
    assert 'name="data"' in page and "vendor/tus.min.js" in page and "data-resumable-bytes" in page
