"""The pack as a PDF (ReportLab platypus): a title page with the digest and the contents, then sections 1–5 here
and 6–10 in portal.compliance.pdf_release, each from the builder's dataclass as it is. Every list is already
bounded by the builder and every free text is clipped by the layout, so rendering takes bounded time."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, SimpleDocTemplate

from portal.compliance.layout import (
    MARGIN,
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
    numbered_canvas,
    pairs,
    para,
    register_fonts,
    rich,
    size,
    subheading,
    table,
    when,
)
from portal.compliance.mapping import SECTIONS
from portal.compliance.pdf_release import approvals, audit, findings, glance, mapping, monitoring


def render(pack) -> bytes:
    """The PDF of ``pack`` (a portal.compliance.pack.Pack)."""
    register_fonts()
    ident = pack.identification
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Compliance evidence pack: {ident.model} v{ident.version}",
        author="Gatehouse",
        subject=f"sha256 {ident.sha256}",
        creator="Gatehouse (ReportLab)",
    )
    running = f"{ident.model} v{ident.version} · sha256 {ident.sha256[:16]}… · generated {when(pack.generated_at)}"
    doc.build(story(pack), canvasmaker=numbered_canvas(running))
    return buffer.getvalue()


def story(pack) -> list:
    parts = [
        title_page(pack),
        identification(pack),
        card(pack),
        data(pack),
        validations(pack),
        benchmarks(pack),
        monitoring(pack),
        findings(pack),
        approvals(pack),
        audit(pack),
        mapping(pack),
    ]
    return [flowable for part in parts for flowable in part]


def title_page(pack) -> list:
    ident = pack.identification
    verify = pack.audit.verify if pack.audit else "(your role does not include the audit log)"
    return [
        rich("Compliance evidence pack", "title"),
        rich(
            f"{markup(ident.model)} v{ident.version} · {markup(ident.stage)} · {markup(ident.risk_tier)} risk",
            "subtitle",
        ),
        facts(
            [
                ("Artifact digest", mono(ident.sha256, "digest")),
                ("", para(f"{ident.digest_of[:1].upper()}{ident.digest_of[1:]}.", "small")),
                ("Model", f"{ident.model} — {ident.description}" if ident.description else ident.model),
                ("Team and owner", f"{ident.team} · {ident.owner}"),
                (
                    "Version",
                    f"v{ident.version}, {ident.stage}; uploaded {when(ident.uploaded_at)} by {ident.uploaded_by}",
                ),
                ("Generated", f"{when(pack.generated_at)} for {pack.generated_by}, by {pack.issuer}"),
                ("Format", pack.format),
            ]
        ),
        gap(4),
        rich(
            "Every figure in this pack is read from Gatehouse's database at the moment above: the version, its model "
            "card, datasets, evidence jobs, observations from production, findings, requests, decisions, stage "
            "changes, signed attestations and audit events. Nothing is typed in for the pack. Each list holds at most "
            f"{pack.max_rows} rows (GATEHOUSE_PACK_MAX_ROWS) and says how many it leaves out."
        ),
        rich(
            "The audit events of section 9 can be checked by anyone with access to the server: download this pack "
            f"as JSON and run <font name='DejaVuSansMono'>{markup(verify)}</font>. It recomputes each event's hash "
            "from its payload, compares it with the chain's hash at that place, and checks the chain against its "
            "signed checkpoints."
        ),
        *glance(pack),
        subheading("Contents"),
        table(["", "Section"], [[str(n), title] for n, title in SECTIONS.items()], [0.6, 12]),
        PageBreak(),
    ]


def identification(pack) -> list:
    i = pack.identification
    signature = (
        f"signed by {i.signed_by} (OpenSSF model signing, key {i.signing_keyid}), verified against the files on upload"
        if i.signed_by
        else "not signed"
    )
    out = [
        heading(1, "Identification"),
        facts(
            [
                ("Model", i.model),
                ("Description", dash(i.description)),
                ("Team", i.team),
                ("Owner", i.owner),
                ("Risk tier", i.risk_tier),
                ("Task type", i.task_type),
                ("Version", f"v{i.version}"),
                ("Stage", i.stage),
                ("Digest (SHA-256)", mono(i.sha256)),
                ("Digest of", i.digest_of),
                ("Size", size(i.size_bytes)),
                ("Format", f"{i.format}, IR version {dash(i.ir_version)}"),
                ("Opsets", pairs(i.opsets)),
                ("Producer", dash(i.producer)),
                ("Model signature", signature),
                ("Integrity", _integrity(i)),
                ("Uploaded", f"{when(i.uploaded_at)} by {i.uploaded_by}"),
            ]
        ),
        *_lineage_and_files(i),
    ]
    if i.offline_metrics:
        out += [
            subheading("Offline metrics reported by the submitter"),
            para(pairs(i.offline_metrics), "body"),
            rich("Self-reported at upload; the validations of section 4 are the measured ones.", "small"),
        ]
    return out


def _lineage_and_files(i) -> list:
    return [
        subheading("Lineage"),
        facts(
            [
                ("Based on", f"v{i.parent}" if i.parent else "—"),
                ("Source code", dash(i.source_code_url)),
                ("Commit", mono(dash(i.source_commit))),
                ("Training run", dash(i.training_run_url)),
                ("Training data", dash(i.training_data_ref)),
                ("Trained at", when(i.trained_at)),
            ]
        ),
        subheading("Files"),
        table(
            ["Path", "Size", "SHA-256"],
            [[f["path"], size(f["size"]), mono(f["sha256"])] for f in i.files.items],
            [3, 2.6, 6.6],
        ),
        *more(i.files, "files"),
        subheading("Inputs and outputs (read from the graph)"),
        table(
            ["", "Name", "Type", "Shape"],
            [
                [kind, io_["name"], io_.get("dtype", ""), _shape(io_.get("shape"))]
                for kind, rows in (("input", i.inputs), ("output", i.outputs))
                for io_ in rows
            ],
            [1.2, 4, 2, 3],
        ),
        rich("A named dimension is symbolic (any size); ? is unknown.", "small"),
    ]


def _integrity(i) -> str:
    if i.integrity_error:
        return f"WITHHELD: the stored bytes no longer match the digest. {i.integrity_error}"
    checked = f"; last re-hashed {when(i.integrity_checked_at)}" if i.integrity_checked_at else ""
    return f"no mismatch recorded (jobs, downloads and the weekly scrub re-hash the stored bytes{checked})"


def _shape(shape) -> str:
    if shape is None:
        return "—"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def card(pack) -> list:
    c = pack.card
    written = [(f.label, f.text if f.text.strip() else "Not written.") for f in c.use_and_limits]
    other = [(f.label, f.text if f.text.strip() else "Not written.") for f in c.other_fields]
    floors = pairs(c.metric_floors) if c.metric_floors else "none set"
    return [
        heading(2, "Model card, intended use and limits"),
        rich(
            "Card complete: every field is written."
            if not c.missing
            else markup(f"Card incomplete: {', '.join(c.missing)} not written."),
            "body",
        ),
        subheading("2.1 Intended use and limits"),
        facts(written),
        subheading("2.2 Data and metrics (the rest of the card)"),
        facts(other),
        subheading("2.3 Thresholds the evidence is judged by"),
        facts(
            [
                ("Metric floors", f"{floors} (for rmse, mae and log_loss the value is a ceiling)"),
                ("Non-inferiority", f"at most {number(c.noninferiority_margin)} worse than production on each metric"),
                ("SLO: p99 at batch 1", f"{number(c.slo_p99_latency_ms)} ms" if c.slo_p99_latency_ms else "not set"),
                (
                    "SLO: throughput",
                    f"{number(c.slo_min_throughput)} samples/s at the largest batch"
                    if c.slo_min_throughput
                    else "not set",
                ),
            ]
        ),
    ]


def data(pack) -> list:
    out = [heading(3, "Data")]
    if not pack.datasets.items:
        return [*out, rich("The model has no dataset in Gatehouse.")]
    for d in pack.datasets.items:
        columns = " · ".join(f"{c['name']} ({c['dtype']})" for c in d.columns.items)
        if d.columns.more:
            columns += f" · and {d.columns.more:,} more columns"
        out += [
            subheading(f"Dataset “{d.name}”"),
            facts(
                [
                    ("Description", dash(d.description)),
                    ("Format", d.format),
                    ("Rows", f"{d.row_count:,}"),
                    ("Size", size(d.size_bytes)),
                    ("SHA-256", mono(d.sha256)),
                    ("Label column", d.label_column),
                    (f"Columns ({d.columns.total})", columns or "—"),
                    ("Added", f"{when(d.created_at)} by {d.created_by}"),
                ]
            ),
        ]
    return [*out, *more(pack.datasets, "datasets")]


def validations(pack) -> list:
    rows = pack.validations
    out = [
        heading(4, "Validation results"),
        rich(
            f"Validations of this exact artifact that completed or were stopped by a check (digest "
            f"<font name='DejaVuSansMono'>{pack.identification.sha256[:16]}…</font>): {rows.total}, newest first.",
            "lead",
        ),
    ]
    if not rows.items:
        return [*out, rich("None yet.")]
    # Each run kept on one page where it fits: its facts, then its checks.
    return [*out, *(block(*_validation(v)) for v in rows.items), *more(rows, "validations")]


def _validation(v) -> list:
    return [
        subheading(f"Validation #{v.job} on “{v.dataset}”"),
        facts(
            [
                ("Verdict", coloured(v.verdict)),
                ("Finished", f"{when(v.finished_at)}, started by {v.requested_by}"),
                ("Dataset", mono(f"{v.dataset} · sha256 {v.dataset_sha256}")),
                ("Rows", number(v.rows)),
                ("Judged by", f"floors {pairs(v.floors)}; margin {number(v.margin)}"),
                ("Metrics", pairs(v.metrics)),
            ]
            + ([("Stopped", v.error)] if v.error else [])
        ),
        gap(1),
        table(
            ["Check", "Verdict", "Message"],
            [[c["name"], coloured(c["verdict"]), c["message"]] for c in v.checks.items],
            [2.6, 1.2, 8],
        ),
        *more(v.checks, "checks"),
    ]


def benchmarks(pack) -> list:
    rows = pack.benchmarks
    out = [
        heading(5, "Benchmark results"),
        rich(f"Benchmarks of this exact artifact that completed: {rows.total}, newest first.", "lead"),
    ]
    if not rows.items:
        return [*out, rich("None yet.")]
    return [*out, *(block(*_benchmark(b)) for b in rows.items), *more(rows, "benchmarks")]


def _benchmark(b) -> list:
    env = b.environment
    libraries = ", ".join(f"{k} {v}" for k, v in env["libraries"].items())
    parts = [
        subheading(f"Benchmark #{b.job} on {(b.device_class or 'an unnamed device').upper()}"),
        facts(
            [
                ("Verdict", coloured(b.verdict) if b.verdict else "none: the model had no SLO to judge it by"),
                ("Finished", f"{when(b.finished_at)}, started by {b.requested_by}"),
                ("Device", f"asked for {b.device_asked}; ran on {dash(b.device_class)}"),
                ("GPU", mono(b.gpu_uuid) if b.gpu_uuid else "—"),
                ("Runtime", _runtime(b.runtime)),
                ("Host", f"{env['host']} · {env['os']}"),
                ("CPU and memory", f"{env['cpu']} × {dash(env['cpu_count'])} · {number(env['memory_total_mib'])} MiB"),
                ("GPUs (NVML)", "; ".join(env["gpus"]) or dash(env["nvml"])),
                ("Software", f"Python {env['python']}; {libraries}"),
                ("Headline", _headline(b.headline)),
            ]
        ),
        gap(1),
        table(
            ["Batch", "p50 ms", "p99 ms", "samples/s", "Iterations", "Stable"],
            [
                [
                    str(r["batch_size"]),
                    number(r["p50_ms"]),
                    number(r["p99_ms"]),
                    number(r["throughput_samples_s"]),
                    number(r["iterations"]),
                    {True: "yes", False: "no"}.get(r["stable"], "—"),
                ]
                for r in b.batches
            ],
            [1, 1.3, 1.3, 1.6, 1.3, 1],
        ),
    ]
    if b.slo_checks:
        checks = [
            [
                c.get("name", ""),
                dash(c.get("target")),
                number(c.get("actual")) + (f" — {c['message']}" if c.get("message") else ""),
                coloured("pass" if c.get("passed") else "fail"),
            ]
            for c in b.slo_checks
        ]
        parts.append(table(["SLO check", "Target", "Measured", "Result"], checks, [3, 2, 3, 1]))
    return parts


def _runtime(runtime: dict) -> str:
    name = f"{runtime.get('name', '?')} {runtime.get('version', '')}"
    text = f"{name} · {runtime.get('provider', '?')} on {runtime.get('device', '?')}"
    return text + (" (fell back to the CPU)" if runtime.get("fell_back_to_cpu") else "")


def _headline(h: dict) -> str:
    if not h:
        return "—"
    parts = [
        f"p50 / p99 at batch 1: {number(h.get('p50_ms_batch_1'))} / {number(h.get('p99_ms_batch_1'))} ms",
        f"{number(h.get('throughput_samples_s'))} samples/s at batch {h.get('largest_batch')}",
    ]
    if h.get("peak_gpu_memory_mib") is not None:
        parts.append(f"peak GPU memory {number(h['peak_gpu_memory_mib'])} MiB")
    if h.get("mean_power_w") is not None:
        parts.append(
            f"mean power {number(h['mean_power_w'])} W ({number(h.get('samples_per_s_per_w'))} samples/s per W)"
        )
    return "; ".join(parts)
