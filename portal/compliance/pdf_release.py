"""Sections 6–10 of the PDF: monitoring since production, findings, the approval chain, the audit extract and
what the pack answers (Annex IV, SR 11-7), each from the builder's dataclass as it is; and the title page's
summary of them all."""

from __future__ import annotations

from portal.compliance.layout import (
    block,
    coloured,
    dash,
    facts,
    gap,
    heading,
    markup,
    mono,
    more,
    number,
    pairs,
    para,
    rich,
    subheading,
    table,
    when,
)
from portal.compliance.mapping import SECTIONS

VERDICT_WORD = {"healthy": "pass", "drifting": "warn", "degraded": "fail"}
COVERAGE_TONE = {"evidenced": "pass", "in part": "warn", "not evidenced": "fail"}
COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}
OBJECT_WORDS = {
    "registry.modelversion": "version",
    "registry.registeredmodel": "model",
    "registry.dataset": "dataset",
    "registry.job": "job",
    "approvals.promotionrequest": "request",
    "approvals.finding": "finding",
    "approvals.attestation": "attestation",
    "registry.observation": "observation",
}


def monitoring(pack) -> list:
    m = pack.monitoring
    s = m.summary
    since = (
        f"in production since {when(m.production_since)}"
        if m.in_production
        else "not in production now"
        + (f" (it entered production {when(m.production_since)})" if m.production_since else "")
    )
    out = [
        heading(6, "Monitoring since production"),
        facts(
            [
                ("Stage", since),
                (
                    "Observations",
                    f"{s['observations']:,}" + (f", {when(s['first'])} to {when(s['last'])}" if s["first"] else ""),
                ),
                (
                    "Verdicts",
                    f"{s['healthy']:,} healthy · {s['drifting']:,} drifting (PSI amber) · {s['degraded']:,} degraded",
                ),
                ("Worst feature drift", f"max PSI {number(s['worst_max_psi'])} (amber ≥ 0.1, red ≥ 0.25)"),
                ("Latest metrics", pairs(s["latest_metrics"])),
                ("Floors", pairs(s["floors"]) if s["floors"] else "none set"),
            ]
        ),
    ]
    rows = m.observations
    if not rows.items:
        return [*out, rich("No serving system has reported on this version yet.")]
    out.append(
        table(
            ["Observed", "Samples", "Metrics", "Max PSI", "Below floor", "Verdict", "Source"],
            [
                [
                    when(o.observed_at),
                    number(o.sample_count),
                    pairs(o.metrics),
                    number(o.max_psi),
                    ", ".join(o.below_floor) or "—",
                    coloured(o.verdict, VERDICT_WORD.get(o.verdict)),
                    o.source,
                ]
                for o in rows.items
            ],
            [2.3, 1.1, 2.9, 1, 1.2, 1.1, 2.4],
        )
    )
    return [*out, *more(rows, "observations", where="the newest are shown")]


def findings(pack) -> list:
    f = pack.findings
    counts = " · ".join(f"{n} {status}" for status, n in f.by_status.items()) or "none"
    out = [heading(7, "Findings and their resolution")]
    if not f.rows.items:
        return [*out, rich("No finding was raised on this version.")]
    out.append(para(f"Findings on this version: {counts}; unresolved: {f.unresolved}.", "lead"))
    out.append(
        table(
            ["#", "Finding", "Severity", "Status", "Owner, due", "Resolution", "Thread"],
            [
                [
                    str(r.id),
                    r.title,
                    r.severity,
                    r.status + (" (overdue)" if r.overdue else ""),
                    f"{r.owner}, {when(r.due_date)}",
                    f"{r.resolution or '—'}" + (f" — {r.resolved_by}, {when(r.resolved_at)}" if r.resolved_by else ""),
                    str(r.thread),
                ]
                for r in f.rows.items
            ],
            [0.6, 2.8, 1.1, 1.4, 1.8, 3.6, 1],
        )
    )
    return [*out, *more(f.rows, "findings")]


def approvals(pack) -> list:
    chain = pack.approvals
    out = [heading(8, "Approval chain"), subheading("Requests and decisions")]
    if not chain.requests.items:
        out.append(rich("No request was opened for this version."))
    for r in chain.requests.items:
        out += _request(r)
    out += more(chain.requests, "requests", where="the newest are shown")
    changes = [
        [
            when(c.at),
            f"{c.from_stage} → {c.to_stage}",
            c.actor or "system",
            c.reason + (f" (rolled back {when(c.rolled_back_at)})" if c.rolled_back_at else ""),
            f"#{c.request}" if c.request else "—",
        ]
        for c in chain.stage_changes.items
    ]
    attestations = [
        [str(a.id), a.stage, when(a.created_at), mono(a.keyid[:16] + "…"), mono(a.statement_sha256)]
        for a in chain.attestations.items
    ]
    return [
        *out,
        subheading("Stage changes"),
        table(
            ["When", "Change", "By", "Reason", "Request"],
            changes or [["—", "no stage change yet", "", "", ""]],
            [2, 2.2, 1.3, 5, 1],
        ),
        *more(chain.stage_changes, "stage changes"),
        subheading("Signed attestations (in-toto Statement in a DSSE envelope)"),
        table(
            ["#", "Stage", "Signed", "Key id", "Statement SHA-256"],
            attestations or [["—", "", "", "", "none: no transition applied yet"]],
            [0.5, 1.2, 2.3, 1.9, 6.6],
        ),
        rich(
            "Each envelope is in the pack's JSON and at GET /api/v1/models/&lt;name&gt;/versions/&lt;n&gt;/"
            "attestations/; verify it offline with portal/core/dsse.py and the published keys (GET /api/v1/keys/pem/).",
            "small",
        ),
        *more(chain.attestations, "attestations"),
    ]


def _request(r) -> list:
    needed = ", ".join(f"{n} {role}" for role, n in r.policy_approvals.items()) or "none"
    evidence = ", ".join(k for k, v in r.policy_evidence.items() if v) or "none"
    decisions = [
        [d.person, d.role, coloured(d.decision, "pass" if d.decision == "approve" else "fail"), when(d.at), d.comment]
        for d in r.decisions.items
    ]
    return [
        block(
            rich(
                f"<b>Request #{r.id}</b>: {markup(r.action)} {markup(r.from_stage)} → {markup(r.to_stage)} "
                f"— {markup(r.status)}"
            ),
            facts(
                [
                    ("Requested", f"{when(r.created_at)} by {r.requester}"),
                    ("Justification", r.justification),
                    ("Policy asked for", f"approvals: {needed}; evidence: {evidence}"),
                    ("Closed", when(r.closed_at) + (f" — {r.reason}" if r.reason else "")),
                ]
            ),
            gap(1),
            table(
                ["Person", "Role", "Decision", "When", "Comment"],
                decisions or [["—", "", "", "", "no decision yet"]],
                [1.4, 1.8, 1.2, 2, 4.5],
            ),
        ),
        *more(r.decisions, "decisions"),
        gap(2),
    ]


def audit(pack) -> list:
    out = [heading(9, "Audit extract")]
    extract = pack.audit
    if extract is None:
        return [*out, rich("Your role does not include the audit log, so this pack carries no audit events.")]
    events = extract.events
    out += [
        para(f"The {events.total:,} events of the audit chain about: " + "; ".join(extract.about) + ".", "lead"),
        rich(
            f"To verify them: download this pack as JSON and run <font name='DejaVuSansMono'>{markup(extract.verify)}"
            "</font>. For each event it recomputes SHA-256 over the previous hash and the canonical JSON of the "
            "payload the file carries, compares it with the hash the chain holds at that place, walks the whole "
            "chain and checks it against the signed checkpoints (those stored, and those in the file). Hashes are "
            "shortened here; the JSON holds them in full.",
            "lead",
        ),
    ]
    rows = []
    for e in events.items:
        rows.append([str(e.seq), when(e.created_at), e.label, e.actor, _object(e), mono(e.hash[:20] + "…")])
        if extract.gap_after_seq == e.seq:
            rows.append(["…", "", para(f"{events.more:,} events not shown here", "small"), "", "", ""])
    out.append(table(["Seq", "When", "Action", "Actor", "Object", "Hash"], rows, [0.7, 2.4, 2.9, 1.3, 1.9, 2.6]))
    if extract.gap_after_seq:
        out.append(
            rich(
                markup(
                    f"The oldest and the newest events are shown; {events.more:,} between them are not "
                    "(GATEHOUSE_PACK_MAX_ROWS)."
                ),
                "small",
            )
        )
    return [*out, *_checkpoints(extract)]


def _checkpoints(extract) -> list:
    rows = [
        [str(c.seq), mono(c.hash[:20] + "…"), c.reason, mono(c.keyid[:16] + "…"), when(c.created_at)]
        for c in extract.checkpoints
    ]
    if not extract.events.items:
        covered = ""
    elif extract.covered_by:
        last = extract.events.items[-1].seq
        covered = (
            f"The last event shown (seq {last}) is covered by the checkpoint signed at event {extract.covered_by}."
        )
    else:
        covered = (
            "No signed checkpoint covers the last event shown yet: beat signs one every "
            "GATEHOUSE_AUDIT_CHECKPOINT_MINUTES, and every release signs one."
        )
    return [
        subheading("Signed checkpoints carried in the pack"),
        table(
            ["At event", "Head hash", "Reason", "Key id", "Signed"],
            rows or [["—", "", "none yet", "", ""]],
            [0.9, 2.8, 3, 2, 2.4],
        ),
        para(covered, "small"),
    ]


def mapping(pack) -> list:
    rows = [
        [
            rich(f"<b>{markup(r.framework)} {markup(r.point)}</b><br/>{markup(r.requirement)}", "cell"),
            _coverage(r),
            r.evidence,
            dash(r.missing),
        ]
        for r in pack.mapping
    ]
    return [
        heading(10, SECTIONS[10]),
        rich(
            "Each section of the pack against the points of the EU AI Act's Annex IV (technical documentation, "
            "Regulation (EU) 2024/1689, Article 11(1)), numbered as the regulation numbers them, and the elements "
            "of SR 11-7 (Federal Reserve / OCC, Supervisory Guidance on Model Risk Management, 2011). "
            "“In part” means the pack holds evidence for the point and something else must complete it.",
            "lead",
        ),
        table(
            ["Requirement", "Coverage", "What the pack holds", "Not evidenced here: who supplies it"],
            rows,
            [3.4, 1.4, 3.5, 3.5],
        ),
        subheading("What Gatehouse cannot evidence"),
        table(["Item", "Who must supply it"], [[g.item, g.supplied_by] for g in pack.not_evidenced], [6, 4]),
    ]


def _object(event) -> str:
    return f"{OBJECT_WORDS.get(event.object_type, event.object_type)} #{event.object_id}"


def _coverage(requirement):
    colour = COLOURS[COVERAGE_TONE[requirement.coverage]]
    sections = ", ".join(str(n) for n in requirement.sections)
    where = f"<br/>sections {sections}" if sections else ""
    return rich(f'<font color="{colour}"><b>{markup(requirement.coverage)}</b></font>{where}', "cell")


def glance(pack) -> list:
    """The title page's summary: one line per part of the evidence, each figure from the sections behind it."""
    v, b, m, f = pack.validations, pack.benchmarks, pack.monitoring, pack.findings
    chain, extract = pack.approvals, pack.audit
    latest_v = f"; latest #{v.items[0].job} {v.items[0].verdict}" if v.items else ""
    latest_b = f"; latest #{b.items[0].job} {b.items[0].verdict} on {b.items[0].device_class or '?'}" if b.items else ""
    applied = next((r for r in chain.requests.items if r.status == "applied"), None)
    approvers = ", ".join(f"{d.person} ({d.role})" for d in applied.decisions.items) if applied else ""
    rows = [
        ("Validations", f"{v.total} on this digest{latest_v} (section 4)"),
        ("Benchmarks", f"{b.total} on this digest{latest_b} (section 5)"),
        (
            "Production",
            (f"since {when(m.production_since)}; " if m.in_production else "not in production now; ")
            + f"{m.summary['observations']} observations, {m.summary['degraded']} degraded (section 6)",
        ),
        ("Findings", f"{f.rows.total}, {f.unresolved} unresolved (section 7)"),
        (
            "Approvals",
            f"{chain.requests.total} requests"
            + (f"; #{applied.id} {applied.from_stage} → {applied.to_stage} approved by {approvers}" if applied else "")
            + f"; {chain.attestations.total} signed attestations (section 8)",
        ),
    ]
    if extract is not None:
        covered = (
            f"covered by the checkpoint at event {extract.covered_by}"
            if extract.covered_by
            else "the newest not yet covered by a signed checkpoint"
        )
        rows.append(("Audit events", f"{extract.events.total} about this version, {covered} (section 9)"))
    return [subheading("At a glance"), facts(rows)]
