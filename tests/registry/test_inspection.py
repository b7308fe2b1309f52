"""Bad artifacts are refused by the service with a message that names the problem, leaving nothing behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from registry import services
from registry.inspector import _inspector, inspect_file
from registry.models import ModelVersion
from tests.factories import RegisteredModelFactory
from tests.onnx_files import onnx_bytes
from tests.registry.bad_files import BAD_ONNX
from tests.support import stored_files


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "make", "message"), BAD_ONNX, ids=[c[0] for c in BAD_ONNX])
def test_bad_artifact_is_refused_and_leaves_nothing(
    case, make, message, scientist, team, tmp_path, artifact_storage, settings
):
    model = RegisteredModelFactory(team=team, owner=scientist)
    events_before = AuditEvent.objects.count()
    with pytest.raises(ApplicationError) as info:
        services.model_version_create(
            actor=scientist, model=model, artifact=ContentFile(make(tmp_path), name=f"{case}.onnx")
        )
    assert message in info.value.message
    assert info.value.field == "artifact"
    assert not ModelVersion.objects.exists()
    assert AuditEvent.objects.count() == events_before
    assert stored_files(artifact_storage) == []
    assert list((tmp_path / "uploads").iterdir()) == []


def test_signature_is_read_from_the_graph(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx_bytes(n_features=7))
    facts = inspect_file("onnx", str(path), field="artifact")
    assert facts["signature"] == {
        "inputs": [{"name": "input", "dtype": "float", "shape": ["N", 7]}],
        "outputs": [{"name": "output", "dtype": "float", "shape": ["N", 1]}],
    }
    assert facts["opsets"] == {"ai.onnx": 17}
    assert facts["ir_version"] == 8


def test_opset_refusal_names_what_the_runtime_runs(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx_bytes(opset=40))
    with pytest.raises(ApplicationError) as info:
        inspect_file("onnx", str(path), field="artifact")
    assert "runs up to opset" in info.value.message


def test_a_file_too_large_for_the_memory_limit_is_refused_not_fatal(tmp_path, settings):
    settings.GATEHOUSE_INSPECT_MEMORY_MB = 16  # the child may map 16 MB more than the parsers: this file needs 64
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx_bytes(n_features=16 * 1024 * 1024))  # 64 MB of weights
    with pytest.raises(ApplicationError) as info:
        inspect_file("onnx", str(path), field="artifact")
    assert "limit" in info.value.message and "for uploads" in info.value.message
    # The next upload is inspected as usual: the fork server survived its child.
    path.write_bytes(onnx_bytes())
    assert inspect_file("onnx", str(path), field="artifact")["opsets"] == {"ai.onnx": 17}


def test_concurrent_uploads_get_their_own_answers_from_single_threaded_fork_servers(tmp_path):
    """gthread workers inspect several files at once: each gets its own file's facts, from fork servers that
    run one thread (forking a threaded process is unsafe) and are replaced when they die."""

    def features(n: int) -> int:
        path = tmp_path / f"m{n}.onnx"
        path.write_bytes(onnx_bytes(n_features=n))
        return inspect_file("onnx", str(path), field="artifact")["signature"]["inputs"][0]["shape"][1]

    results, errors = {}, []

    def work(first: int):
        try:
            for n in range(first, first + 20, 4):
                results[n] = features(n)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == {n: n for n in range(1, 21)}
    assert _inspector._idle
    for server in _inspector._idle:
        status = Path(f"/proc/{server.pid}/status").read_text()
        assert "\nThreads:\t1\n" in status
        server.kill()  # a server that died between uploads is replaced, not reused
    assert features(7) == 7
