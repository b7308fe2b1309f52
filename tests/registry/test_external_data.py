"""Versions that are a set of files: an ONNX model with its weights in external data files, as PyTorch
exports every large model (tests/fixtures/make_transformer.py made the fixture). Registered through the API
and the form, digested as OpenSSF model signing does, refused with a reason that leaves nothing behind,
downloaded file by file or as a tar, and checked against the digest on the way out."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import onnx
import pytest
from django.core import mail
from django.core.files.base import ContentFile
from rest_framework.authtoken.models import Token

from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from registry import services
from registry.manifests import root_digest
from registry.models import ModelVersion
from tests.factories import RegisteredModelFactory
from tests.support import stored_files

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny-transformer"


def _files(**replace) -> tuple[ContentFile, list[ContentFile]]:
    model = ContentFile(replace.pop("model", (FIXTURE / "model.onnx").read_bytes()), name="model.onnx")
    data = replace.pop("data", {"model.onnx.data": (FIXTURE / "model.onnx.data").read_bytes()})
    return model, [ContentFile(content, name=name) for name, content in data.items()]


def _with_locations(change) -> bytes:
    """The fixture's graph with each external tensor's data entries changed by ``change(entries)``."""
    proto = onnx.load(str(FIXTURE / "model.onnx"), load_external_data=False)
    for tensor in onnx.external_data_helper._get_all_tensors(proto):
        if onnx.external_data_helper.uses_external_data(tensor):
            entries = {e.key: e.value for e in tensor.external_data}
            del tensor.external_data[:]
            for key, value in change(entries).items():
                tensor.external_data.add(key=key, value=value)
    return proto.SerializeToString()


@pytest.fixture
def model(team):
    return RegisteredModelFactory(name="tiny", team=team, task_type="binary-classification")


def test_a_model_with_external_data_is_one_version_whose_digest_model_signing_computes(scientist, model):
    artifact, data = _files()
    version = services.model_version_create(actor=scientist, model=model, artifact=artifact, data=data)
    model_bytes, data_bytes = (FIXTURE / "model.onnx").read_bytes(), (FIXTURE / "model.onnx.data").read_bytes()
    assert [(f["path"], f["size"]) for f in version.files] == [
        ("model.onnx", len(model_bytes)),
        ("model.onnx.data", len(data_bytes)),
    ]
    assert version.size_bytes == len(model_bytes) + len(data_bytes)
    assert version.sha256 == root_digest(version.files) != hashlib.sha256(model_bytes).hexdigest()
    assert version.signature["inputs"] == [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}]
    # The OpenSSF reference implementation, over the same two files: the same root digest.
    model_signing = pytest.importorskip("model_signing")
    from model_signing._signing.signing import Payload  # noqa: PLC0415 - the reference, only here

    statement = Payload(model_signing.hashing.hash(FIXTURE)).statement.pb
    assert statement.subject[0].digest["sha256"] == version.sha256


def test_a_single_file_keeps_its_sha256_as_its_digest(scientist, model):
    from tests.onnx_files import onnx_bytes  # noqa: PLC0415

    data = onnx_bytes(seed=3)
    version = services.model_version_create(actor=scientist, model=model, artifact=ContentFile(data, name="m.onnx"))
    assert version.sha256 == hashlib.sha256(data).hexdigest() and not version.is_set
    assert version.files == [
        {"path": "m.onnx", "size": len(data), "sha256": version.sha256, "key": version.artifact.name}
    ]


def test_the_api_takes_the_data_files_as_repeated_parts(api, scientist, model, artifact_storage):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=scientist).key}")
    artifact, data = _files()
    response = api.post("/api/v1/models/tiny/versions/", {"artifact": artifact, "data": data}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [f["path"] for f in body["files"]] == ["model.onnx", "model.onnx.data"]
    assert body["sha256"] == root_digest(body["files"])
    stored = stored_files(artifact_storage)
    folder = f"models/tiny/v1/{body['sha256'][:12]}"
    assert stored == [f"{folder}/model.onnx", f"{folder}/model.onnx.data"]  # the data beside the graph


def test_the_form_takes_the_data_files(client, scientist, model):
    client.force_login(scientist)
    artifact, data = _files()
    response = client.post("/models/tiny/versions/new/", {"artifact": artifact, "data": data})
    assert response.status_code == 302, response.content.decode()[:2000]
    version = ModelVersion.objects.get()
    assert version.is_set and "2 files" in client.get(response["Location"]).content.decode()


REFUSALS = {
    "the data file is missing": (
        {"data": {}},
        "keeps 9 tensor(s) in external data files ('model.onnx.data'), which are not part of this upload",
    ),
    "a data file no tensor reads": (
        {"data": {"model.onnx.data": (FIXTURE / "model.onnx.data").read_bytes(), "extra.bin": b"x" * 10}},
        "No tensor of the model reads 'extra.bin'",
    ),
    "a truncated data file": (
        {"data": {"model.onnx.data": (FIXTURE / "model.onnx.data").read_bytes()[:1000]}},
        "past the end of the file (1,000 bytes): the data file is truncated or from another export",
    ),
    "a location above the model's folder": (
        {"model": _with_locations(lambda e: {**e, "location": "../model.onnx.data"})},
        "keeps its data at '../model.onnx.data', outside the model's folder",
    ),
    "an absolute location": (
        {"model": _with_locations(lambda e: {**e, "location": "/etc/passwd"})},
        "keeps its data at '/etc/passwd', outside the model's folder",
    ),
    "a data file named twice": (
        {"data": {"model.onnx": b"x"}},
        "Two files of the upload are named 'model.onnx'",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_each_refusal_says_why_and_leaves_nothing(scientist, model, artifact_storage, settings, case):
    change, message = REFUSALS[case]
    artifact, data = _files(**change)
    with pytest.raises(ApplicationError) as refused:
        services.model_version_create(actor=scientist, model=model, artifact=artifact, data=data)
    assert message in refused.value.message
    assert not ModelVersion.objects.exists() and stored_files(artifact_storage) == []
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []  # no spooled copy, no set folder


def test_limits_on_files_and_size_name_their_settings(scientist, model, settings, artifact_storage):
    settings.GATEHOUSE_ARTIFACT_MAX_FILES = 1
    artifact, data = _files()
    with pytest.raises(ApplicationError, match=r"at most 1 files \(GATEHOUSE_ARTIFACT_MAX_FILES\); this upload has 2"):
        services.model_version_create(actor=scientist, model=model, artifact=artifact, data=data)
    settings.GATEHOUSE_ARTIFACT_MAX_FILES = 256
    settings.GATEHOUSE_ARTIFACT_MAX_MB = 0
    with pytest.raises(ApplicationError, match=r"\(GATEHOUSE_ARTIFACT_MAX_MB\)"):
        services.model_version_create(actor=scientist, model=model, artifact=artifact, data=data)
    assert stored_files(artifact_storage) == [] and list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []


@pytest.fixture
def stored_set(scientist, model):
    artifact, data = _files()
    return services.model_version_create(actor=scientist, model=model, artifact=artifact, data=data)


def test_a_set_downloads_file_by_file_and_as_a_tar_with_its_manifest(client, itops, stored_set):
    client.force_login(itops)
    one = client.get("/models/tiny/versions/1/download/?path=model.onnx.data")
    assert b"".join(one.streaming_content) == (FIXTURE / "model.onnx.data").read_bytes()
    assert one["X-Checksum-SHA256"] == stored_set.files[1]["sha256"] and one["X-Gatehouse-Digest"] == stored_set.sha256
    whole = client.get("/models/tiny/versions/1/download/")
    body = b"".join(whole.streaming_content)
    assert len(body) == int(whole["Content-Length"]) and whole["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.getnames() == ["manifest.json", "model.onnx", "model.onnx.data"]
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert manifest["digest"] == stored_set.sha256
        assert tar.extractfile("model.onnx").read() == (FIXTURE / "model.onnx").read_bytes()
    assert client.get("/models/tiny/versions/1/download/?path=nope").status_code == 404


def test_bytes_changed_in_storage_are_never_served_and_it_is_told(
    client, itops, stored_set, artifact_storage, django_capture_on_commit_callbacks
):
    itops.email = "ivo@example.com"
    itops.save()
    (artifact_storage / stored_set.files[1]["key"]).write_bytes(b"\0" * stored_set.files[1]["size"])
    client.force_login(itops)
    response = client.get("/models/tiny/versions/1/download/?path=model.onnx.data")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception, match="model.onnx.data"):
        b"".join(response.streaming_content)  # the last chunk is held back: the transfer never completes
    stored_set.refresh_from_db()
    assert "does not match its digest" in stored_set.integrity_error
    assert AuditEvent.objects.filter(action="registry.version.integrity_failed").count() == 1
    assert [m.to for m in mail.outbox] == [["ivo@example.com"]]
    page = client.get("/models/tiny/versions/1/").content.decode()
    assert "Withheld: the stored artifact no longer matches its digest." in page
    assert client.get("/models/tiny/versions/1/download/").status_code == 302  # refused, with the reason


def test_versions_stored_before_sets_keep_their_digest_evidence_and_approvals(scientist, model):
    """registry/migrations/0010: a version from before has no manifest; it gets one of its single file, and
    its digest (the file's SHA-256), its evidence and its requests stay bound to the same bytes."""
    from importlib import import_module  # noqa: PLC0415 - a migration module, named by its number

    from django.apps import apps  # noqa: PLC0415

    from tests.factories import PromotionRequestFactory, evidence, version_create  # noqa: PLC0415

    version = version_create(model, scientist)
    jobs = evidence(version, "validation", "benchmark")
    request = PromotionRequestFactory(version=version)
    before = version.sha256
    ModelVersion.objects.filter(pk=version.pk).update(files=[])  # as the rows stood before the migration
    import_module("registry.migrations.0010_version_files").one_file_manifests(apps, None)
    version.refresh_from_db()
    assert version.sha256 == before and not version.is_set
    assert version.files == [
        {"path": "model.onnx", "size": version.size_bytes, "sha256": before, "key": version.artifact.name}
    ]
    assert {job.artifact_sha256 for job in jobs} == {before} and request.artifact_sha256 == before
