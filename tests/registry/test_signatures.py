"""Signed models in: a version uploaded with its OpenSSF model-signing signature (made here with the
model-signing package's own private-key signer) is accepted with its signer recorded; a changed weight byte,
an untrusted key or a file that is no bundle is refused with why, leaving nothing; a tier policy that asks
for a signature holds an unsigned version's promotion, saying why on the request page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.files.uploadedfile import SimpleUploadedFile
from model_signing import signing
from rest_framework.authtoken.models import Token

from approvals import services as approvals_services
from approvals.models import Policy
from approvals.selectors import evidence_for
from portal.core.models import AuditEvent
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.factories import JUSTIFICATION, RegisteredModelFactory, evidence
from tests.onnx_files import onnx_bytes
from tests.support import stored_files

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny-transformer"


def _key_files(folder: Path, name: str) -> Path:
    """A signer's key pair: the private key for model_signing, the public one where the server trusts it."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_path = folder / f"{name}-private.pem"
    private_path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return private_path, private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def dana_key(tmp_path, settings):
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    private_path, public_pem = _key_files(tmp_path, "dana")
    (trusted / "dana.pem").write_bytes(public_pem)
    settings.GATEHOUSE_MODEL_SIGNING_KEYS_DIR = str(trusted)
    return private_path


@pytest.fixture
def signed_set(tmp_path, dana_key) -> Path:
    """The transformer fixture's folder (graph and external data), signed by dana as model_signing signs."""
    folder = tmp_path / "model"
    shutil.copytree(FIXTURE, folder)
    signing.Config().use_elliptic_key_signer(private_key=dana_key).sign(folder, tmp_path / "model.sig")
    return folder


@pytest.fixture
def token_api(api, scientist):
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=scientist).key}")
    return api


@pytest.fixture
def model(team, scientist):
    return RegisteredModelFactory(name="tiny", team=team, owner=scientist, task_type="binary-classification")


def _post(api, folder: Path, signature: Path | bytes):
    sig = signature if isinstance(signature, bytes) else signature.read_bytes()
    return api.post(
        "/api/v1/models/tiny/versions/",
        {
            "artifact": SimpleUploadedFile("model.onnx", (folder / "model.onnx").read_bytes()),
            "data": [SimpleUploadedFile("model.onnx.data", (folder / "model.onnx.data").read_bytes())],
            "signature": SimpleUploadedFile("model.sig", sig),
        },
        format="multipart",
    )


def test_a_signed_set_is_accepted_with_its_signer(token_api, model, signed_set, artifact_storage):
    response = _post(token_api, signed_set, signed_set.parent / "model.sig")
    assert response.status_code == 201, response.json()
    assert response.json()["signed_by"] == "dana"
    version = ModelVersion.objects.get()
    assert version.signed_by == "dana" and version.signing_bundle["dsseEnvelope"]
    assert AuditEvent.objects.get(action="registry.version.created").after["signed_by"] == "dana"


def test_a_signed_single_file_is_accepted(token_api, model, tmp_path, dana_key):
    graph = tmp_path / "model.onnx"
    graph.write_bytes(onnx_bytes(seed=7))
    signing.Config().use_elliptic_key_signer(private_key=dana_key).sign(graph, tmp_path / "file.sig")
    response = token_api.post(
        "/api/v1/models/tiny/versions/",
        {
            "artifact": SimpleUploadedFile("model.onnx", graph.read_bytes()),
            "signature": SimpleUploadedFile("file.sig", (tmp_path / "file.sig").read_bytes()),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["signed_by"] == "dana"


def _refused(api, folder, signature, artifact_storage) -> str:
    response = _post(api, folder, signature)
    assert response.status_code == 400
    assert not ModelVersion.objects.exists()
    assert stored_files(artifact_storage) == []
    return response.json()["signature"][0]


def test_one_changed_weight_byte_is_refused_naming_the_file(token_api, model, signed_set, artifact_storage):
    weights = bytearray((signed_set / "model.onnx.data").read_bytes())
    weights[100] ^= 0x01
    (signed_set / "model.onnx.data").write_bytes(bytes(weights))
    message = _refused(token_api, signed_set, signed_set.parent / "model.sig", artifact_storage)
    assert message == (
        "The model-signing signature does not match the uploaded files: model.onnx.data changed since it was signed."
    )


def test_an_untrusted_signer_is_refused(token_api, model, signed_set, artifact_storage, tmp_path):
    mallory, _ = _key_files(tmp_path, "mallory")
    signing.Config().use_elliptic_key_signer(private_key=mallory).sign(signed_set, tmp_path / "mallory.sig")
    message = _refused(token_api, signed_set, tmp_path / "mallory.sig", artifact_storage)
    assert "signed with a key this server does not trust" in message and "Trusted signers: dana" in message


def test_a_file_that_is_no_bundle_is_refused(token_api, model, signed_set, artifact_storage, settings):
    assert "is not a model-signing bundle" in _refused(token_api, signed_set, b'{"not": "a bundle"}', artifact_storage)
    settings.GATEHOUSE_MODEL_SIGNATURE_MAX_KB = 1
    assert "GATEHOUSE_MODEL_SIGNATURE_MAX_KB" in _refused(token_api, signed_set, b"x" * 2000, artifact_storage)


def test_the_form_takes_the_signature(client, scientist, model, signed_set):
    client.force_login(scientist)
    response = client.post(
        "/models/tiny/versions/new/",
        {
            "artifact": SimpleUploadedFile("model.onnx", (signed_set / "model.onnx").read_bytes()),
            "data": [SimpleUploadedFile("model.onnx.data", (signed_set / "model.onnx.data").read_bytes())],
            "signature": SimpleUploadedFile("model.sig", (signed_set.parent / "model.sig").read_bytes()),
        },
    )
    assert response.status_code == 302, response.content[:2000]
    page = client.get(response["Location"]).content.decode()
    assert "signed by dana" in page


def test_a_tier_that_requires_a_signature_holds_an_unsigned_promotion(client, users, model, signed_set, token_api):
    """Low risk: design → test needs no approval, so only the signature holds it."""
    policy = Policy.objects.get(risk_tier=model.risk_tier, transition="design->test")
    policy.evidence = {**policy.evidence, "signature": True}
    policy.save()
    unsigned = token_api.post(
        "/api/v1/models/tiny/versions/",
        {"artifact": SimpleUploadedFile("model.onnx", onnx_bytes(seed=11))},
        format="multipart",
    )
    assert unsigned.status_code == 201
    version = ModelVersion.objects.get(number=unsigned.json()["number"])
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    request = approvals_services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=JUSTIFICATION
    )
    version.refresh_from_db()
    assert version.stage == Stage.DESIGN  # held: the signature can never arrive for these bytes
    client.force_login(users["reviewer"])
    page = client.get(f"/approvals/requests/{request.pk}/").content.decode()
    assert "uploaded without a model signature" in page and "requires one" in page

    signed = _post(token_api, signed_set, signed_set.parent / "model.sig")
    assert signed.status_code == 201
    signed_version = ModelVersion.objects.get(number=signed.json()["number"])
    items = {i.key: i for i in evidence_for(signed_version, policy.snapshot())}
    assert items["signature"].satisfied and "Signed by dana" in items["signature"].message
