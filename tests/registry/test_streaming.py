"""The API's streaming multipart parser (registry.streaming): what Django's parser does, at disk speed. Data
files keep their relative locations; a broken or hostile body is refused as JSON and leaves no temporary file."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from registry.models import ModelVersion
from tests.factories import RegisteredModelFactory
from tests.registry.test_external_data import FIXTURE, _with_locations
from tests.support import stored_files

pytestmark = pytest.mark.django_db
BOUNDARY = "gatehouse-test-boundary"
URL = "/api/v1/models/tiny/versions/"


def _body(parts: list[tuple[str, str | None, bytes]], *, close: bool = True) -> bytes:
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        out += b"Content-Type: application/octet-stream\r\n" if filename is not None else b""
        out += b"\r\n" + content + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


@pytest.fixture
def post(api, scientist, team):
    RegisteredModelFactory(name="tiny", team=team, task_type="binary-classification")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=scientist).key}")

    def send(body: bytes):
        return api.generic("POST", URL, body, content_type=f"multipart/form-data; boundary={BOUNDARY}")

    return send


def _nothing_left(artifact_storage, settings) -> bool:
    return (
        not ModelVersion.objects.exists()
        and stored_files(artifact_storage) == []
        and list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []
    )


def test_a_data_file_in_a_subfolder_keeps_its_location(post, artifact_storage):
    graph = _with_locations(lambda e: {**e, "location": "weights/model.onnx.data"})
    weights = (FIXTURE / "model.onnx.data").read_bytes()
    body = _body(
        [
            ("notes", None, b"from CI"),
            ("artifact", "model.onnx", graph),
            ("data", "weights/model.onnx.data", weights),
        ]
    )
    response = post(body)
    assert response.status_code == 201, response.json()
    assert [f["path"] for f in response.json()["files"]] == ["model.onnx", "weights/model.onnx.data"]
    folder = f"models/tiny/v1/{response.json()['sha256'][:12]}"
    assert stored_files(artifact_storage) == [f"{folder}/model.onnx", f"{folder}/weights/model.onnx.data"]


@pytest.mark.parametrize("name", ["../model.onnx.data", "/etc/model.onnx.data", "a/./b", "a\\b"])
def test_a_data_file_named_outside_the_folder_is_refused(post, artifact_storage, settings, name):
    body = _body([("artifact", "model.onnx", (FIXTURE / "model.onnx").read_bytes()), ("data", name, b"x" * 100)])
    response = post(body)
    assert response.status_code == 400
    assert "a location is a relative path inside the model's folder" in str(response.json())
    assert _nothing_left(artifact_storage, settings)


def test_a_body_cut_off_is_refused_as_json_and_leaves_no_temporary_file(post, artifact_storage, settings):
    whole = _body([("artifact", "model.onnx", (FIXTURE / "model.onnx").read_bytes())], close=False)
    response = post(whole[: len(whole) // 2])
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert _nothing_left(artifact_storage, settings)


def test_a_body_without_a_boundary_is_refused(api, scientist, team):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=scientist).key}")
    RegisteredModelFactory(name="tiny", team=team)
    response = api.generic("POST", URL, b"--x--", content_type="multipart/form-data")
    assert response.status_code == 400 and "boundary" in response.json()["detail"]


def test_a_file_over_the_limit_is_counted_not_kept_and_the_message_names_the_setting(post, artifact_storage, settings):
    settings.GATEHOUSE_MAX_UPLOAD_MB = 0
    response = post(_body([("artifact", "model.onnx", (FIXTURE / "model.onnx").read_bytes())]))
    assert response.status_code == 400 and "GATEHOUSE_MAX_UPLOAD_MB" in str(response.json())
    assert _nothing_left(artifact_storage, settings)
