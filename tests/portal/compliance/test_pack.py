"""The compliance evidence pack: every section holds the version's real figures (read back from the rows the
runner, the workflow and the audit chain wrote), the PDF renders, the audit extract verifies and an altered
event does not, every role may read it, and its lists and queries stay bounded whatever the history."""

from __future__ import annotations

import json

import pypdfium2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import ImageOps

from approvals.models import Attestation, Decision, FindingComment, StageChange
from portal.compliance.mapping import ANNEX_IV, SR_11_7
from portal.compliance.pack import as_json, build_pack
from portal.core.audit import event_hash
from portal.core.models import AuditEvent
from registry.models import MODEL_CARD_FIELDS, Observation
from tests.factories import JobFactory, ObservationFactory, UserFactory

pytestmark = pytest.mark.django_db
ROLES = ("scientist", "outsider", "itops", "reviewer", "manager")
PAGE_QUERIES = 24  # session, user, permissions, the builder's 17, the roles for the menu: measured 20


def _url(version, suffix: str = "pack/") -> str:
    return f"/models/{version.model.name}/versions/{version.number}/{suffix}"


def _pack(released, users, role: str = "reviewer"):
    return build_pack(name="iris", number=released["version"].number, user=users[role])


def test_the_pack_has_every_section_with_the_versions_real_figures(released, users):
    version, validation, benchmark = released["version"], released["validation"], released["benchmark"]
    pack = _pack(released, users)
    ident = pack.identification
    assert (ident.model, ident.team, ident.owner, ident.risk_tier) == ("iris", "Risk Models", "dana", "high")
    assert (ident.version, ident.stage, ident.sha256) == (1, "production", version.sha256)
    assert ident.size_bytes == version.size_bytes
    assert ident.files.items == [{k: f[k] for k in ("path", "size", "sha256")} for f in version.files]
    assert (ident.opsets, ident.producer) == (version.opsets, version.producer)
    assert (ident.inputs, ident.outputs) == (version.signature["inputs"], version.signature["outputs"])
    assert (ident.source_commit, ident.training_data_ref, ident.trained_at) == (
        version.source_commit,
        "sklearn.datasets.load_iris",
        version.trained_at,
    )
    card = {f.name: f.text for f in [*pack.card.use_and_limits, *pack.card.other_fields]}
    assert card == {f: getattr(released["model"], f) for f in MODEL_CARD_FIELDS}
    (dataset,) = pack.datasets.items
    assert (dataset.sha256, dataset.row_count, dataset.label_column) == (released["dataset"].sha256, 150, "species")
    assert [c["name"] for c in dataset.columns.items] == ["sl", "sw", "pl", "pw", "species"]

    (checked,) = pack.validations.items
    assert (checked.job, checked.verdict, checked.metrics) == (validation.pk, "passed", validation.result["metrics"])
    assert [(c["name"], c["verdict"], c["message"]) for c in checked.checks.items] == [
        (c["name"], c["verdict"], c["message"]) for c in validation.result["checks"]
    ]
    (timed,) = pack.benchmarks.items
    assert (timed.job, timed.device_class, timed.runtime["provider"]) == (benchmark.pk, "cpu", "CPUExecutionProvider")
    assert timed.environment["host"] == benchmark.environment["host"]
    assert [b["p99_ms"] for b in timed.batches] == [r["latency_ms"]["p99"] for r in benchmark.result["results"]]
    assert [c["passed"] for c in timed.slo_checks] == [True, True]

    monitoring = pack.monitoring
    assert monitoring.in_production
    assert monitoring.production_since == StageChange.objects.get(to_stage="production").created_at
    assert [o.metrics["accuracy"] for o in monitoring.observations.items] == [0.85, 0.96]  # newest first
    assert (monitoring.summary["observations"], monitoring.summary["degraded"]) == (2, 1)
    assert monitoring.observations.items[0].below_floor == ["accuracy"]

    (finding,) = pack.findings.rows.items
    assert (finding.status, finding.resolved_by) == ("verified", "rita")
    assert finding.resolution == "Tried −1: refused with a 400."
    assert finding.thread == FindingComment.objects.filter(finding=released["finding"]).count() == 3

    (request,) = pack.approvals.requests.items
    assert (request.id, request.status, request.to_stage) == (released["request"].pk, "applied", "production")
    assert [(d.person, d.role, d.decision) for d in request.decisions.items] == [
        (d.person.username, d.role, d.decision) for d in Decision.objects.order_by("created_at", "pk")
    ]
    (attestation,) = pack.approvals.attestations.items
    row = Attestation.objects.get()
    assert (attestation.keyid, attestation.statement_sha256, attestation.created_at) == (
        row.keyid,
        row.statement_sha256,
        row.created_at,
    )
    assert json.loads(json.dumps(as_json(pack)))["identification"]["sha256"] == version.sha256


def test_the_audit_extract_holds_the_chains_events_about_the_version(released, users):
    extract = _pack(released, users).audit
    stored = {e.seq: e for e in AuditEvent.objects.all()}
    assert [e.seq for e in extract.events.items] == sorted(stored)  # every event here is about the iris release
    for event in extract.events.items:
        assert event.hash == stored[event.seq].hash
        assert event_hash(event.prev_hash, event.payload) == event.hash
    actions = {e.action for e in extract.events.items}
    assert {"registry.version.created", "approvals.request.applied", "approvals.attestation.issued"} <= actions
    assert {"registry.job.succeeded", "approvals.finding.opened", "registry.observation.recorded"} <= actions
    assert extract.covered_by == max(stored) and extract.checkpoints[0].seq == max(stored)


def test_the_mapping_names_annex_iv_as_the_regulation_numbers_it_and_what_gatehouse_cannot_evidence(released, users):
    pack = _pack(released, users)
    points = [r.point for r in pack.mapping if r.framework == ANNEX_IV]
    assert {p for p in points if p.isdigit()} == {str(n) for n in range(1, 10)}
    assert {r.point for r in pack.mapping if r.framework == SR_11_7} == {
        "Conceptual soundness",
        "Ongoing monitoring",
        "Outcomes analysis",
        "Effective challenge",
        "Governance, policies and controls",
    }
    not_evidenced = {r.point for r in pack.mapping if r.coverage == "not evidenced"}
    assert not_evidenced == {"2(e)", "7", "8"}
    assert all(r.missing for r in pack.mapping)  # each row says what is not evidenced, and who supplies it
    gaps = " ".join(g.item for g in pack.not_evidenced)
    assert "harmonised standards" in gaps and "declaration of conformity" in gaps and "Article 9" in gaps


def test_the_page_shows_every_section_in_a_fixed_number_of_queries(client, released, users):
    version = released["version"]
    client.force_login(users["manager"])
    with CaptureQueriesContext(connection) as few:
        page = client.get(_url(version)).content.decode()
    for n, title in enumerate(["Identification", "Validation results", "Audit extract", "What the pack answers"]):
        assert title in page, n
    assert version.sha256 in page and released["finding"].title in page
    for _ in range(3):
        ObservationFactory(version=version, metrics={"accuracy": 0.93})
        JobFactory(version=version, kind="validation")
    with CaptureQueriesContext(connection) as more:
        client.get(_url(version))
    assert len(more.captured_queries) == len(few.captured_queries) <= PAGE_QUERIES, [
        q["sql"][:120] for q in more.captured_queries
    ]


def test_the_version_page_links_to_the_pack(client, released, users):
    client.force_login(users["scientist"])
    page = client.get(released["version"].get_absolute_url()).content.decode()
    assert f'href="{_url(released["version"])}"' in page


def _pdf_text(document: pypdfium2.PdfDocument) -> str:
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def test_the_pdf_renders_and_its_first_page_shows_the_digest(client, released, users):
    version = released["version"]
    # Text is printed as written, never read as markup; a script DejaVu lacks prints as empty boxes, no error.
    odd = 'Flowers <b>& "petals"</b> — <unclosed 名前'
    type(released["model"]).objects.filter(pk=released["model"].pk).update(description=odd)
    client.force_login(users["itops"])
    response = client.get(_url(version, "pack.pdf"))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="iris-v1-compliance-pack.pdf"'
    assert response.content.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(response.content)
    image = document[0].render(scale=1).to_pil().convert("L")
    ink = sum(image.histogram()[:128])  # pixels darker than mid-grey
    assert ImageOps.invert(image).getbbox() is not None and ink > image.width * image.height * 0.01  # not blank
    first = document[0].get_textpage().get_text_range()
    assert version.sha256 in first and "iris v1" in first and 'Flowers <b>& "petals"</b> — <unclosed' in first
    text = _pdf_text(document)
    # The shipped fonts carry the Unicode the pack prints: the arrows, ≥, dashes and middle dots come out as written.
    assert "test → production" in text and "≥ 0.9" in text and "Tried −1" in text and " · " in text
    assert b"DejaVuSans" in response.content


def _extract_file(client, version, tmp_path):
    response = client.get(_url(version, "pack.json"))
    assert response["Content-Disposition"] == 'attachment; filename="iris-v1-compliance-pack.json"'
    path = tmp_path / "iris-v1-compliance-pack.json"
    path.write_bytes(response.content)
    return path, json.loads(response.content)


def test_the_audit_extract_verifies_with_audit_verify(client, released, users, tmp_path, capsys):
    client.force_login(users["reviewer"])
    path, _ = _extract_file(client, released["version"], tmp_path)
    call_command("audit_verify", "--extract", str(path))
    out = capsys.readouterr().out
    last = AuditEvent.objects.order_by("-seq").first().seq
    assert f"Audit extract intact: {last} event(s) between places 1 and {last}" in out
    assert f"event {last} is covered by the signed checkpoint at event {last}" in out
    assert "Audit chain intact" in out


def test_an_altered_event_in_the_extract_fails(client, released, users, tmp_path):
    client.force_login(users["reviewer"])
    path, pack = _extract_file(client, released["version"], tmp_path)
    events = pack["audit"]["events"]["items"]
    applied = next(e for e in events if e["action"] == "approvals.request.applied")
    applied["payload"]["actor_username"] = "mallory"
    path.write_text(json.dumps(pack))
    with pytest.raises(CommandError, match=f"Event {applied['seq']} of the extract does not match its hash"):
        call_command("audit_verify", "--extract", str(path))
    # Forged consistently (the hash recomputed): the chain holds another hash at that place.
    applied["hash"] = event_hash(applied["prev_hash"], applied["payload"])
    path.write_text(json.dumps(pack))
    with pytest.raises(CommandError, match=f"Event {applied['seq']} of the extract has hash .* but the chain holds"):
        call_command("audit_verify", "--extract", str(path))


def test_anonymous_readers_are_sent_to_sign_in_and_the_api_answers_401(client, api, released):
    version = released["version"]
    for suffix in ("pack/", "pack.pdf", "pack.json"):
        response = client.get(_url(version, suffix))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for query in ("", "?format=pdf"):
        response = api.get(f"/api/v1/{_url(version)[1:]}{query}")
        assert response.status_code == 401 and response["Content-Type"] == "application/json", query


def test_every_role_that_reads_the_model_reads_its_pack(client, api, released, users):
    version = released["version"]
    for role in ROLES:
        client.force_login(users[role])
        for suffix in ("pack/", "pack.pdf", "pack.json"):
            assert client.get(_url(version, suffix)).status_code == 200, (role, suffix)
        api.force_authenticate(users[role])
        body = api.get(f"/api/v1/{_url(version)[1:]}").json()
        assert (body["format"], body["identification"]["sha256"]) == ("gatehouse.compliance-pack/v1", version.sha256)
    pdf = api.get(f"/api/v1/{_url(version)[1:]}?format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    missing = api.get("/api/v1/models/iris/versions/9/pack/?format=pdf")
    assert missing.status_code == 404 and missing.json()["detail"].startswith("There is no version 9")
    nobody = UserFactory(username="norole")
    client.force_login(nobody)
    assert client.get(_url(version)).status_code == 403
    api.force_authenticate(nobody)
    assert api.get(f"/api/v1/{_url(version)[1:]}").status_code == 403


def test_every_list_is_bounded_and_says_how_many_it_left_out(client, released, users, settings, tmp_path, capsys):
    settings.GATEHOUSE_PACK_MAX_ROWS = 5
    version = released["version"]
    ObservationFactory.create_batch(6, version=version)
    for _ in range(6):
        JobFactory(version=version, kind="validation")
    pack = _pack(released, users)
    observations, validations, events = pack.monitoring.observations, pack.validations, pack.audit.events
    assert (len(observations.items), observations.total, observations.more) == (5, 8, 3)
    assert observations.total == Observation.objects.filter(version=version).count()
    assert (len(validations.items), validations.total, validations.more) == (5, 7, 2)
    total = AuditEvent.objects.count()
    assert (len(events.items), events.total, events.more) == (5, total, total - 5)
    assert [e.seq for e in events.items] == [1, 2, 3, total - 1, total]  # the oldest and the newest
    assert pack.audit.gap_after_seq == 3
    client.force_login(users["reviewer"])
    assert "3 more observations not shown" in client.get(_url(version)).content.decode()
    text = _pdf_text(pypdfium2.PdfDocument(client.get(_url(version, "pack.pdf")).content))
    assert "3 more observations not shown" in text and "2 more validations not shown" in text
    path, _ = _extract_file(client, version, tmp_path)  # an extract with a gap verifies all the same
    call_command("audit_verify", "--extract", str(path))
    assert "Audit extract intact: 5 event(s)" in capsys.readouterr().out
