"""Signed approvals: a transition that applies signs an in-toto Statement about the artifact's digest in a
DSSE envelope; deployment tooling verifies it offline with the published key, and a changed byte in the
artifact, the statement or the signature fails, each with its message."""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from google.protobuf import json_format
from in_toto_attestation.v1 import statement as intoto_statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from approvals.models import Attestation, Webhook, WebhookDelivery
from approvals.services.attestations import PREDICATE_TYPE
from portal.core import dsse, keys
from portal.core.models import AuditEvent
from registry.choices import Stage
from tests.factories import promote_to_production

pytestmark = pytest.mark.django_db
DSSE_FILE = Path(dsse.__file__)


@pytest.fixture(autouse=True)
def fresh_keys():
    keys.signing_key.cache_clear()
    keys.retired_keys.cache_clear()
    yield
    keys.signing_key.cache_clear()
    keys.retired_keys.cache_clear()


def _pem_private(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _to_production(version, users) -> Attestation:
    request = promote_to_production(version, users)
    return Attestation.objects.get(version=version, request=request, stage=Stage.PRODUCTION)


def _statement(envelope: dict) -> dict:
    return json.loads(base64.b64decode(envelope["payload"]))


def test_a_production_release_is_signed_about_its_digest(users, world):
    _, version = world
    attestation = _to_production(version, users)
    statement = _statement(attestation.envelope)
    assert attestation.envelope["payloadType"] == "application/vnd.in-toto+json"
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": f"churn/v{version.number}", "digest": {"sha256": version.sha256}}]
    assert statement["predicateType"] == PREDICATE_TYPE
    predicate = statement["predicate"]
    assert (predicate["model"], predicate["version"], predicate["stage"]) == ("churn", version.number, "production")
    assert predicate["transition"] == {"action": "promote", "from": "test", "to": "production"}
    assert predicate["policy"] == attestation.request.policy
    assert [(a["person"], a["role"]) for a in predicate["approvals"]] == [
        ("ivo", "it-operations"),
        ("rita", "risk-reviewers"),
    ]
    jobs = {e["kind"]: e for e in predicate["evidence"] if "job" in e}
    assert set(jobs) == {"validation", "benchmark"}
    assert all(e["artifactSha256"] == version.sha256 and e["verdict"] == "passed" for e in jobs.values())
    applied = AuditEvent.objects.get(action="approvals.request.applied", object_id=str(attestation.request_id))
    assert predicate["auditEvent"] == {"id": applied.pk, "hash": applied.hash}
    issued = AuditEvent.objects.get(action="approvals.attestation.issued")
    assert issued.after["statement_sha256"] == attestation.statement_sha256
    # The statement parses with the in-toto project's own Statement type.
    parsed = intoto_statement.Statement.copy_from_pb(json_format.ParseDict(statement, intoto_statement.spb.Statement()))
    parsed.validate()


def test_only_transitions_that_apply_are_signed(users, world):
    _, version = world
    _to_production(version, users)
    stages = list(Attestation.objects.filter(version=version).values_list("stage", flat=True))
    assert stages == ["production"]  # the version went to test by an update here; only applied requests sign


def test_an_independent_dsse_implementation_verifies_the_envelope(users, world):
    """securesystemslib implements DSSE from its specification: it accepts what Gatehouse signs."""
    _, version = world
    envelope = Envelope.from_dict(_to_production(version, users).envelope)
    public = keys.signing_key().public_key()
    key = SSlibKey.from_crypto(public, keyid=dsse.keyid(public))
    verified = envelope.verify([key], 1)
    assert set(verified) == {dsse.keyid(public)}
    assert _statement(envelope.to_dict())["subject"][0]["digest"]["sha256"] == version.sha256


def test_ecdsa_p256_keys_sign_too(users, world, settings):
    private = ec.generate_private_key(ec.SECP256R1())
    settings.GATEHOUSE_SIGNING_KEY = _pem_private(private)
    _, version = world
    envelope = _to_production(version, users).envelope
    key = SSlibKey.from_crypto(private.public_key(), keyid=dsse.keyid(private.public_key()))
    assert Envelope.from_dict(envelope).verify([key], 1)
    assert keys.public_keys()[0]["algorithm"] == "ecdsa-p256-sha256"


def test_a_malformed_key_stops_with_the_setting_named(settings):
    settings.GATEHOUSE_SIGNING_KEY = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ImproperlyConfigured, match="GATEHOUSE_SIGNING_KEY is not an unencrypted PEM private key"):
        keys.signing_key()


def test_the_api_serves_attestations_and_the_public_keys(api, users, world):
    _, version = world
    attestation = _to_production(version, users)
    url = f"/api/v1/models/churn/versions/{version.number}/attestations/"
    for role in ("scientist", "outsider", "itops", "reviewer", "manager"):
        api.force_authenticate(users[role])
        response = api.get(url)
        assert response.status_code == 200, role
        [item] = response.json()
        assert item["envelope"] == attestation.envelope and item["stage"] == "production"
    api.force_authenticate(None)
    assert api.get(url).status_code in (401, 403)
    api.force_authenticate(users["manager"])
    assert api.get("/api/v1/models/churn/versions/999/attestations/").status_code == 404
    api.force_authenticate(None)
    published = api.get("/api/v1/keys/").json()["keys"]  # public: no token
    assert [(k["keyid"], k["status"]) for k in published] == [(attestation.keyid, "active")]
    pem = api.get("/api/v1/keys/pem/")
    assert pem.status_code == 200 and pem.content.decode() == published[0]["pem"]


def test_a_rotated_key_is_published_as_retired_and_its_attestations_still_verify(api, users, world, settings):
    old = ed25519.Ed25519PrivateKey.generate()
    settings.GATEHOUSE_SIGNING_KEY = _pem_private(old)
    _, version = world
    attestation = _to_production(version, users)
    new = ed25519.Ed25519PrivateKey.generate()
    settings.GATEHOUSE_SIGNING_KEY = _pem_private(new)
    settings.GATEHOUSE_SIGNING_KEYS_RETIRED = (
        old.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    keys.signing_key.cache_clear()
    keys.retired_keys.cache_clear()
    published = api.get("/api/v1/keys/").json()["keys"]
    assert [(k["keyid"], k["status"]) for k in published] == [
        (dsse.keyid(new.public_key()), "active"),
        (dsse.keyid(old.public_key()), "retired"),
    ]
    pem = api.get("/api/v1/keys/pem/").content
    assert dsse.verify_envelope(attestation.envelope, dsse.load_public_keys(pem))["subject"][0]["digest"]["sha256"]


def test_the_webhook_of_an_applied_request_carries_the_attestation(users, world):
    Webhook.objects.create(url="http://127.0.0.1:9/hook", secret="s" * 20, events=["request.applied"])
    _, version = world
    attestation = _to_production(version, users)
    delivery = WebhookDelivery.objects.get(event="request.applied")
    assert delivery.payload["data"]["attestation"] == attestation.envelope


# --- the verifier deployment tooling runs, with only cryptography ---------------------------------------------


def _stdlib_or_cryptography(module: str) -> bool:
    top = module.split(".")[0]
    return top == "cryptography" or top == "__future__" or top in sys.stdlib_module_names


def test_the_verifier_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(DSSE_FILE.read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] + [
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    ]
    assert imported and all(_stdlib_or_cryptography(m) for m in imported), imported


@pytest.fixture
def deployment(tmp_path, api, users, world):
    """What a deployment script has: the attestation and the key downloaded, the artifact, the verifier."""
    _, version = world
    _to_production(version, users)
    api.force_authenticate(users["itops"])
    [item] = api.get(f"/api/v1/models/churn/versions/{version.number}/attestations/").json()
    artifact = b"".join(api.get(f"/api/v1/models/churn/versions/{version.number}/artifact/").streaming_content)
    (tmp_path / "attestation.json").write_text(json.dumps(item))
    (tmp_path / "keys.pem").write_bytes(api.get("/api/v1/keys/pem/").content)
    (tmp_path / "model.onnx").write_bytes(artifact)
    (tmp_path / "dsse.py").write_bytes(DSSE_FILE.read_bytes())
    return tmp_path


def _verify(folder: Path) -> subprocess.CompletedProcess:
    # -I: isolated (no user site, no PYTHONPATH, not the project's folder): the copied file on its own.
    return subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-I",
            "dsse.py",
            "attestation.json",
            "--key",
            "keys.pem",
            "--artifact",
            "model.onnx",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _tamper(folder: Path, *, statement: bool = False, signature: bool = False) -> None:
    item = json.loads((folder / "attestation.json").read_text())
    envelope = item["envelope"]
    if statement:  # one byte of the statement: the stage it claims
        payload = base64.b64decode(envelope["payload"]).replace(b'"stage":"production"', b'"stage":"productioN"')
        envelope["payload"] = base64.b64encode(payload).decode()
    if signature:  # one byte of the signature
        raw = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
        raw[10] ^= 0x01
        envelope["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode()
    (folder / "attestation.json").write_text(json.dumps(item))


def test_a_deployment_verifies_the_version_it_is_about_to_serve(deployment):
    result = _verify(deployment)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["predicate"]["stage"] == "production"


def test_a_changed_artifact_byte_fails(deployment):
    data = bytearray((deployment / "model.onnx").read_bytes())
    data[-1] ^= 0x01
    (deployment / "model.onnx").write_bytes(bytes(data))
    result = _verify(deployment)
    assert result.returncode == 1
    assert "FAILED: The artifact's SHA-256 is" in result.stderr and "the artifact was changed" in result.stderr


def test_a_changed_statement_byte_fails(deployment):
    _tamper(deployment, statement=True)
    result = _verify(deployment)
    assert result.returncode == 1
    assert "FAILED: The signature does not verify with the key" in result.stderr
    assert "The statement was changed: its SHA-256 is" in result.stderr  # against the API item's digest


def test_a_changed_signature_byte_fails(deployment):
    _tamper(deployment, signature=True)
    result = _verify(deployment)
    assert result.returncode == 1
    assert "FAILED: The signature does not verify with the key" in result.stderr
    assert "The statement is the one issued: its signature was changed." in result.stderr


def test_the_command_rehashes_and_names_what_was_changed(deployment):
    files = {n: str(deployment / n) for n in ("attestation.json", "keys.pem", "model.onnx")}
    call_command("attestation_verify", files["attestation.json"], key=files["keys.pem"], artifact=files["model.onnx"])
    original = Path(files["attestation.json"]).read_text()

    _tamper(deployment, statement=True)
    with pytest.raises(CommandError, match="its signature was|the statement was changed") as info:
        call_command("attestation_verify", files["attestation.json"], key=files["keys.pem"])
    assert "the statement was changed" in str(info.value)

    Path(files["attestation.json"]).write_text(original)
    _tamper(deployment, signature=True)
    with pytest.raises(CommandError) as info:
        call_command("attestation_verify", files["attestation.json"], key=files["keys.pem"])
    assert "The statement is the one issued as attestation" in str(info.value)
    assert "its signature was changed" in str(info.value)

    Path(files["attestation.json"]).write_text(original)
    Path(files["model.onnx"]).write_bytes(b"not the model")
    with pytest.raises(CommandError, match="the artifact was changed"):
        call_command("attestation_verify", files["attestation.json"], artifact=files["model.onnx"])


def test_pae_is_the_specifications():
    """protocol.md's example: PAE("http://example.com/HelloWorld", "hello world")."""
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_a_set_digest_is_model_signings(tmp_path):
    """A folder's digest is registry.manifests's root digest, which the registry's tests check against the
    model-signing package itself."""
    from registry.manifests import version_digest  # noqa: PLC0415 - the registry's own implementation

    (tmp_path / "a").mkdir()
    # "a/b" sorts before "a.b" part by part, after it as plain strings: the order is model-signing's.
    files = {"model.onnx": b"graph", "a/b": b"a" * 1000, "a.b": b"b", "manifest.json": b"{}"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    import hashlib  # noqa: PLC0415

    manifest = [
        {"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
        for n, d in files.items()
        if n != "manifest.json"  # what the API's tar adds beside the files
    ]
    assert dsse.artifact_digest(tmp_path) == version_digest(manifest)


def test_a_set_version_verifies_from_the_tar_the_api_serves_and_names_a_changed_file(tmp_path, api, users, world):
    """A model with external data: the subject is the model-signing root digest; the verifier re-hashes the
    downloaded tar, and a changed weight byte is reported with the file it is in."""
    from django.core.files.base import ContentFile  # noqa: PLC0415

    from registry import services as registry_services  # noqa: PLC0415

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "tiny-transformer"
    model, _ = world
    version = registry_services.model_version_create(
        actor=users["scientist"],
        model=model,
        artifact=ContentFile((fixture / "model.onnx").read_bytes(), name="model.onnx"),
        data=[ContentFile((fixture / "model.onnx.data").read_bytes(), name="model.onnx.data")],
    )
    assert len(version.files) == 2
    attestation = _to_production(version, users)
    assert _statement(attestation.envelope)["subject"][0]["digest"]["sha256"] == version.sha256
    api.force_authenticate(users["itops"])
    tar = b"".join(api.get(f"/api/v1/models/churn/versions/{version.number}/artifact/").streaming_content)
    (tmp_path / "set.tar").write_bytes(tar)
    public = keys.verification_keys()
    assert dsse.verify_attestation(attestation.envelope, public, tmp_path / "set.tar")["predicate"]["stage"]

    folder = tmp_path / "set"
    folder.mkdir()
    with tarfile.open(tmp_path / "set.tar") as archive:
        archive.extractall(folder, filter="data")
    assert dsse.verify_attestation(attestation.envelope, public, folder)  # manifest.json beside the files
    weights = bytearray((folder / "model.onnx.data").read_bytes())
    weights[100] ^= 0x01
    (folder / "model.onnx.data").write_bytes(bytes(weights))
    with pytest.raises(dsse.VerificationError, match=r"Files changed: model\.onnx\.data\."):
        dsse.verify_attestation(attestation.envelope, public, folder)
    weights[100] ^= 0x01  # restored, and renamed so that the order, and so the root digest, stay the same
    (folder / "model.onnx.data").unlink()
    (folder / "model.onnx.datb").write_bytes(bytes(weights))
    with pytest.raises(dsse.VerificationError, match=r"not under the names the statement lists. Files missing"):
        dsse.verify_attestation(attestation.envelope, public, folder)
