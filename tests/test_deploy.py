"""The production stack: the compose file against the Compose Specification's schema, `check --deploy` with
the production environment, /readyz naming a dependency that is down, metrics, JSON logs, SSO settings."""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from portal.celery import app
from portal.core.models import AuditEvent
from portal.core.oidc import GatehouseOIDCBackend, parse_role_map, roles_from_claims
from registry.models import Job
from tests.factories import RegisteredModelFactory, version_create

ROOT = Path(__file__).resolve().parents[1]
SIGNING_KEY = (
    ed25519.Ed25519PrivateKey.generate()
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)
PRODUCTION_ENV = {
    "GATEHOUSE_SIGNING_KEY": SIGNING_KEY,
    "DEBUG": "false",
    "SECRET_KEY": "f3Q9vX2mL8pR4tY7wK1zC6bN0hJ5sD3gA9eU2iO7qW4rT8yP1xM6nB0vZ5cL2kH7",
    "ALLOWED_HOSTS": "gatehouse.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://gatehouse.example.com",
    "SECURE_PROXY_SSL_HEADER": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def _manage(*args: str, env: dict[str, str] | None = None, tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY", "DEBUG"))}
    clean.update(GATEHOUSE_VAR_DIR=str(tmp_path), **(env or {}))
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_the_compose_file_follows_the_compose_specification():
    schema = json.loads(
        importlib.resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    jsonschema.validate(compose, schema)  # raises with the path of the first error
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "worker-gpu", "beat", "migrate", "minio"} <= set(services)
    assert services["db"]["image"].startswith("postgres:16")
    assert "-Q" in services["worker"]["command"] and "cpu" in services["worker"]["command"]
    assert services["worker-gpu"]["command"] == ["python", "manage.py", "gpu_workers"]  # one worker per card
    [device] = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert services["worker-gpu"]["build"]["args"]["EXTRAS"] == "gpu"
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert set(compose["volumes"]) >= {"pgdata", "redisdata", "objects"}
    env_example = (ROOT / ".env.example").read_text()
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "ALLOWED_HOSTS"):
        assert f"\n{name}=" in env_example
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER gatehouse" in dockerfile and "HEALTHCHECK" in dockerfile and dockerfile.count("FROM ") == 2


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_signing_key_is_checked_before_the_first_release(tmp_path):
    unset = {k: v for k, v in PRODUCTION_ENV.items() if k != "GATEHOUSE_SIGNING_KEY"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=unset, tmp_path=tmp_path)
    assert result.returncode != 0 and "gatehouse.W001" in result.stderr + result.stdout
    broken = {**PRODUCTION_ENV, "GATEHOUSE_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"}
    result = _manage("check", env=broken, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "gatehouse.E001" in result.stderr and "GATEHOUSE_SIGNING_KEY is not an unencrypted PEM" in result.stderr


def test_production_settings_refuse_a_weak_setup(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION_ENV, "SECURE_HSTS_SECONDS": "0"},
        tmp_path=tmp_path,
    )
    assert result.returncode != 0 and "security.W004" in result.stderr + result.stdout


@pytest.mark.django_db
def test_security_headers_and_content_security_policy(client, manager):
    client.force_login(manager)
    response = client.get("/dashboard/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"


def test_healthz_answers_whatever_the_host(client):
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


@pytest.mark.django_db
@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed here (CI has it)")
def test_readyz_names_the_broker_when_redis_stops_and_recovers(client, settings):
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    previous = app.conf.broker_url
    app.conf.broker_url = url
    settings.CELERY_BROKER_URL = url
    redis = _redis(port)
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json()
        checks = ready.json()["checks"]
        assert checks["broker"] == {"status": "ok", "backend": "redis", "ms": checks["broker"]["ms"]}
        assert checks["database"]["status"] == checks["storage"]["status"] == "ok"

        redis.terminate()
        redis.wait(10)
        down = client.get("/readyz")
        assert down.status_code == 503
        body = down.json()
        assert body["status"] == "unavailable" and body["failing"] == ["broker"]
        assert "error" not in body["checks"]["broker"]  # the error text is logged, not shown to anyone
        assert body["checks"]["broker"]["status"] == "error" and body["checks"]["database"]["status"] == "ok"

        redis = _redis(port)
        assert client.get("/readyz").status_code == 200
    finally:
        redis.terminate()
        app.conf.broker_url = previous


@pytest.mark.django_db
def test_readyz_names_missing_storage(client, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "gone")},
        },
    }
    body = client.get("/readyz").json()
    assert body["failing"] == ["storage"] and "error" not in body["checks"]["storage"]  # no details in public
    settings.GATEHOUSE_METRICS_TOKEN = "ops"
    detailed = client.get("/readyz", HTTP_AUTHORIZATION="Bearer ops").json()
    assert "missing or not writable" in detailed["checks"]["storage"]["error"]


@pytest.mark.django_db
def test_prometheus_metrics(client, settings, scientist):
    model = RegisteredModelFactory(name="metered", team=scientist.teams.first(), owner=scientist)
    version = version_create(model, scientist)

    now = timezone.now()
    Job.objects.create(
        kind="benchmark",
        version=version,
        artifact_sha256=version.sha256,
        queue="gpu",
        status="succeeded",
        requested_by=scientist,
        started_at=now - timezone.timedelta(seconds=42),
        finished_at=now,
    )
    client.get("/healthz")
    client.get("/accounts/login/")
    text = client.get("/metrics").content.decode()
    assert 'gatehouse_jobs{kind="benchmark",queue="gpu",status="succeeded"} 1.0' in text
    assert 'gatehouse_job_duration_seconds_bucket{kind="benchmark",le="60.0"} 1.0' in text
    assert 'gatehouse_job_duration_seconds_bucket{kind="benchmark",le="15.0"} 0.0' in text
    assert 'gatehouse_http_requests_total{method="GET",status="200",view="login"}' in text
    assert "gatehouse_queue_depth" in text
    settings.GATEHOUSE_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_json_logs_carry_the_request_id(tmp_path):
    code = (
        "import logging; from portal.core.request_context import RequestContextMiddleware; "
        "from django.test import RequestFactory; "
        "mw = RequestContextMiddleware(lambda r: logging.getLogger('gatehouse.test').warning('inside') or "
        "__import__('django.http').http.HttpResponse()); "
        "mw(RequestFactory().get('/', HTTP_X_REQUEST_ID='abcdef123456'))"
    )
    result = _manage("shell", "-c", code, env={**PRODUCTION_ENV, "LOG_FORMAT": "json"}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(json.loads(x) for x in result.stderr.splitlines() if x.startswith("{") and "inside" in x)
    assert line["message"] == "inside" and line["request_id"] == "abcdef123456" and line["levelname"] == "WARNING"


def test_single_sign_on_is_off_unless_configured_and_maps_groups(tmp_path):
    mapping = parse_role_map("ml=data-scientists, ops=it-operations")
    assert mapping == {"ml": "data-scientists", "ops": "it-operations"}
    assert roles_from_claims({"groups": ["ml", "other"]}, mapping) == {"data-scientists"}
    assert roles_from_claims({"roles": "ops"}, mapping, "roles") == {"it-operations"}
    with pytest.raises(ValueError, match="must be provider-group=role"):
        parse_role_map("ml=wizards")
    code = "from django.urls import reverse; print(reverse('oidc_authentication_init'))"
    off = _manage("shell", "-c", code, env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert off.returncode != 0 and "NoReverseMatch" in off.stderr
    on = _manage(
        "shell",
        "-c",
        code,
        env={
            **PRODUCTION_ENV,
            "OIDC_RP_CLIENT_ID": "gatehouse",
            "OIDC_RP_CLIENT_SECRET": "x",
            "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://sso.example.com/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": "https://sso.example.com/token",
            "OIDC_OP_USER_ENDPOINT": "https://sso.example.com/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": "https://sso.example.com/jwks",
            "OIDC_ROLE_MAP": "ml=data-scientists",
        },
        tmp_path=tmp_path,
    )
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip().splitlines()[-1] == "/oidc/authenticate/"
    broken = _manage("check", env={**PRODUCTION_ENV, "OIDC_RP_CLIENT_ID": "gatehouse"}, tmp_path=tmp_path)
    assert broken.returncode != 0 and "OIDC_RP_CLIENT_SECRET must be set when OIDC_RP_CLIENT_ID is set" in broken.stderr


@pytest.mark.django_db
def test_sso_sign_in_sets_the_roles_the_provider_grants(settings):
    settings.OIDC_ROLE_MAP = {"ml": "data-scientists", "leads": "managers"}
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.OIDC_REQUIRE_VERIFIED_EMAIL = True
    for name in (
        "OIDC_RP_CLIENT_ID",
        "OIDC_RP_CLIENT_SECRET",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
    ):
        setattr(settings, name, "x")
    backend = GatehouseOIDCBackend()
    assert not backend.verify_claims({"email": "ada@example.com", "groups": ["ml"]})  # not verified
    assert backend.verify_claims({"email": "ada@example.com", "email_verified": True})
    get_user_model().objects.create_user("ada", "someone-else@example.com")
    taken = backend.create_user({"email": "eve@example.com", "preferred_username": "ada", "groups": []})
    assert taken.username != "ada" and not taken.has_usable_password()  # never another account's name
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    with pytest.raises(PermissionDenied):
        backend.update_user(admin, {"email": "root@example.com", "groups": ["ml"]})
    user = backend.create_user({"email": "ada@example.com", "preferred_username": "ada2", "groups": ["ml"]})
    assert user.username == "ada2" and list(user.groups.values_list("name", flat=True)) == ["data-scientists"]
    backend.update_user(user, {"email": "ada@example.com", "groups": ["leads", "unrelated"]})
    assert list(user.groups.values_list("name", flat=True)) == ["managers"]
    event = AuditEvent.objects.filter(action="portal.user.roles_synced").order_by("id").last()
    assert event.before == {"roles": ["data-scientists"]} and event.after == {"roles": ["managers"], "source": "oidc"}
    assert get_user_model().objects.filter(email="ada@example.com").count() == 1


@pytest.mark.django_db
def test_the_audit_log_records_the_client_behind_trusted_proxies(client, settings, scientist):
    client.force_login(scientist)
    settings.GATEHOUSE_TRUSTED_PROXIES = 1
    client.post("/account/token/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert AuditEvent.objects.order_by("id").last().ip == "203.0.113.9"  # the first entry is the client's to forge
    settings.GATEHOUSE_TRUSTED_PROXIES = 0
    client.post("/account/token/", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="10.0.0.2")
    assert AuditEvent.objects.order_by("id").last().ip == "10.0.0.2"
