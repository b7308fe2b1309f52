"""A real broken connection: a client announces the whole file, sends part of it over a socket and hangs up.
The server keeps what arrived, says where it stands, and the upload goes on to the right digest."""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import time
from urllib.parse import urlsplit

import pytest
from rest_framework.authtoken.models import Token

from portal.core.roles import ensure_role_groups
from tests.registry.test_external_data import FIXTURE
from transfers.models import Upload

WEIGHTS = (FIXTURE / "model.onnx.data").read_bytes()


@pytest.fixture
def server(transactional_db, live_server, settings, tmp_path):
    ensure_role_groups()  # a transactional test starts from a flushed database
    settings.GATEHOUSE_RESUMABLE_DIR = str(tmp_path / "resumable")
    return urlsplit(live_server.url)


def _request(server, token, method, path, body=b"", **headers):
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
    connection.request(
        method, path, body=body, headers={"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0", **headers}
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_connection_cut_mid_part_resumes_from_what_the_server_kept(server, scientist):
    token = Token.objects.create(user=scientist).key
    filename = base64.b64encode(b"model.onnx.data").decode()
    created = _request(
        server,
        token,
        "POST",
        "/api/v1/uploads/",
        **{"Upload-Length": str(len(WEIGHTS)), "Upload-Metadata": f"filename {filename}"},
    )
    assert created.status == 201
    path = urlsplit(created.getheader("Location")).path

    sent = 40_000
    raw = socket.create_connection((server.hostname, server.port))
    raw.sendall(
        (
            f"PATCH {path} HTTP/1.1\r\nHost: {server.hostname}\r\nAuthorization: Token {token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            f"Content-Length: {len(WEIGHTS)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + WEIGHTS[:sent]
    )
    raw.shutdown(socket.SHUT_WR)  # the client is gone: the body ends here
    raw.close()

    for _ in range(50):  # the server notices the end of the body and records what it kept
        offset = int(_request(server, token, "HEAD", path).getheader("Upload-Offset"))
        if offset:
            break
        time.sleep(0.1)
    assert offset == sent
    rest = _request(
        server,
        token,
        "PATCH",
        path,
        body=WEIGHTS[offset:],
        **{"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
    )
    assert rest.status == 204 and rest.getheader("X-Checksum-SHA256") == hashlib.sha256(WEIGHTS).hexdigest()
    assert Upload.objects.get().path.read_bytes() == WEIGHTS
