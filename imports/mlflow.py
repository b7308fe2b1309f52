"""A small client of an MLflow tracking server's REST API (``/api/2.0/mlflow/...``) and its artifact proxy
(``/api/2.0/mlflow-artifacts/artifacts/...``), in plain urllib: Gatehouse does not depend on mlflow.

Nothing here imports Django: the caller passes the limits and the credentials (from the settings)."""

from __future__ import annotations

import base64
import contextlib
import json
import posixpath
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import yaml

CHUNK = 1024 * 1024
# Files an MLflow model folder holds beside the model itself; anything else in an ONNX model's folder is one
# of its external data files (the registry's inspection then checks that a tensor reads each of them).
MODEL_FOLDER_METADATA = {
    "MLmodel",
    "conda.yaml",
    "python_env.yaml",
    "requirements.txt",
    "input_example.json",
    "serving_input_example.json",
    "registered_model_meta",
}


class MlflowError(Exception):
    """The server could not be read: the message says what was asked and what came back."""


class TooLarge(MlflowError):
    pass


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    username: str | None = None
    password: str | None = None

    def header(self) -> str | None:
        if self.token:
            return f"Bearer {self.token}"
        if self.username:
            raw = f"{self.username}:{self.password or ''}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return None


def normalize_url(url: str) -> str:
    """The server's URL as the key of what was imported from it: scheme and host lowercased, no trailing /."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL of an MLflow tracking server.")
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


class MlflowClient:
    def __init__(self, url: str, *, timeout_s: float, credentials: Credentials | None = None):
        self.url = normalize_url(url)
        self.timeout_s = timeout_s
        self.credentials = credentials or Credentials()

    # --- HTTP ------------------------------------------------------------------------------------------------

    def _open(self, path: str, params: dict[str, Any] | None = None):
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        request = urllib.request.Request(f"{self.url}{path}{query}", headers={"Accept": "application/json"})  # noqa: S310
        auth = self.credentials.header()
        if auth:
            request.add_header("Authorization", auth)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)  # noqa: S310 - http(s) only, checked
        except urllib.error.HTTPError as exc:
            body = exc.read(2000).decode("utf-8", "replace")
            with contextlib.suppress(ValueError, AttributeError):
                body = json.loads(body).get("message", body)
            raise MlflowError(f"{path} answered HTTP {exc.code}: {body[:300]}") from None
        except TimeoutError:
            raise MlflowError(
                f"{self.url}{path} did not answer within {self.timeout_s:g} s (GATEHOUSE_IMPORT_HTTP_TIMEOUT_S)."
            ) from None
        except urllib.error.URLError as exc:
            raise MlflowError(f"{self.url} cannot be reached: {exc.reason}") from None

    def get(self, endpoint: str, **params: Any) -> dict:
        with self._open(f"/api/2.0/mlflow/{endpoint}", params) as response:
            return json.loads(response.read() or b"{}")

    def _paged(self, endpoint: str, key: str, **params: Any) -> Iterator[dict]:
        token = None
        while True:
            page = self.get(endpoint, **params, **({"page_token": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return

    # --- The registry ----------------------------------------------------------------------------------------

    def registered_models(self) -> Iterator[dict]:
        yield from self._paged("registered-models/search", "registered_models", max_results=100)

    def registered_model(self, name: str) -> dict:
        return self.get("registered-models/get", name=name)["registered_model"]

    def model_versions(self, name: str) -> list[dict]:
        quoted = name.replace("\\", "\\\\").replace("'", "\\'")
        versions = list(self._paged("model-versions/search", "model_versions", filter=f"name='{quoted}'"))
        return sorted(versions, key=lambda v: int(v["version"]))

    def download_uri(self, name: str, version: str) -> str:
        return self.get("model-versions/get-download-uri", name=name, version=version)["artifact_uri"]

    def run(self, run_id: str) -> dict:
        return self.get("runs/get", run_id=run_id)["run"]

    # --- Artifacts, through the server's proxy (``mlflow server --serve-artifacts``) ---------------------------

    @staticmethod
    def proxied_path(artifact_uri: str) -> str:
        """The path under the artifact proxy of an ``mlflow-artifacts:`` URI; anything else (a bucket, a
        folder on the server) is not readable through the tracking server."""
        parts = urllib.parse.urlsplit(artifact_uri)
        if parts.scheme != "mlflow-artifacts":
            raise MlflowError(
                f"The artifacts are at {artifact_uri[:200]!r}, which Gatehouse does not read directly: start the "
                "tracking server with --serve-artifacts so that it proxies them."
            )
        return parts.path.strip("/")

    def list_artifacts(self, path: str) -> list[dict]:
        with self._open("/api/2.0/mlflow-artifacts/artifacts", {"path": path}) as response:
            files = json.loads(response.read() or b"{}").get("files", [])
        return [
            {
                "name": posixpath.basename(f["path"]),
                "is_dir": bool(f.get("is_dir")),
                "size": int(f.get("file_size") or 0),
            }
            for f in files
        ]

    def read_artifact(self, path: str, *, max_bytes: int) -> bytes:
        with self._open(f"/api/2.0/mlflow-artifacts/artifacts/{urllib.parse.quote(path)}") as response:
            data = response.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(f"{posixpath.basename(path)} is over {max_bytes:,} bytes")
        return data

    def download_artifact(self, path: str, out: IO[bytes], *, max_bytes: int) -> int:
        """Stream one file into ``out``; refuse past ``max_bytes`` (whatever the listing said)."""
        size = 0
        with self._open(f"/api/2.0/mlflow-artifacts/artifacts/{urllib.parse.quote(path)}") as response:
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"{posixpath.basename(path)} is over {max_bytes:,} bytes")
                out.write(chunk)
        return size


def flavors_of(mlmodel: bytes) -> dict:
    """The ``flavors`` of an MLmodel file (YAML, read with safe_load only: it names no Python object)."""
    try:
        document = yaml.safe_load(mlmodel.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MlflowError(f"its MLmodel file is not valid YAML ({type(exc).__name__})") from None
    flavors = document.get("flavors") if isinstance(document, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise MlflowError("its MLmodel file names no flavour")
    return flavors
