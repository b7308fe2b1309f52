"""How long the compliance pack of the demo's production version takes to build and to render as a PDF.

    DEBUG=true .venv/bin/python manage.py demo_data          # once, on the database DATABASE_URL names
    DEBUG=true .venv/bin/python bench/pack_render.py [--model tumor-malignancy] [--rounds 5] [--worst-case]

Builds the pack (the queries), renders the PDF (ReportLab) ``--rounds`` times after a first, uncounted round
(it loads the fonts), and prints the median and the slowest of each, the queries, the pages and the size.
Writes the PDF to var/pack.pdf and its first page, rendered by pdfium, to var/pack-page1.png.

``--worst-case`` also renders the pack with every list filled to GATEHOUSE_PACK_MAX_ROWS (rows of the real
pack repeated, in memory: nothing is written), the most any version's history can put in it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def _filled(rows, limit: int):
    """``rows`` (a Rows) with its items repeated up to ``limit``, as a version with a long history would show."""
    from portal.compliance.rows import Rows

    if not rows.items:
        return rows
    items = (rows.items * (limit // len(rows.items) + 1))[:limit]
    return Rows(items, max(rows.total, limit * 4))


def worst_case(pack):
    limit = pack.max_rows
    chain = pack.approvals
    return dataclasses.replace(
        pack,
        validations=_filled(pack.validations, limit),
        benchmarks=_filled(pack.benchmarks, limit),
        monitoring=dataclasses.replace(pack.monitoring, observations=_filled(pack.monitoring.observations, limit)),
        approvals=dataclasses.replace(
            chain,
            requests=_filled(chain.requests, limit),
            stage_changes=_filled(chain.stage_changes, limit),
            attestations=_filled(chain.attestations, limit),
        ),
        audit=dataclasses.replace(pack.audit, events=_filled(pack.audit.events, limit)) if pack.audit else None,
    )


def _timed(function, rounds: int):
    function()  # warms the fonts, the template of the queries, the caches
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    return result, times


def _report(label: str, times: list[float]) -> str:
    return f"{label}: median {statistics.median(times):.0f} ms, slowest {max(times):.0f} ms ({len(times)} rounds)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="a model with a version in production (default: the riskiest one)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worst-case", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    import pypdfium2
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.compliance.pack import build_pack
    from portal.compliance.pdf import render
    from registry.models import ModelVersion

    production = ModelVersion.objects.in_production().select_related("model")
    if args.model:
        production = production.filter(model__name=args.model)
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    versions = sorted(production, key=lambda v: (rank.get(v.model.risk_tier, 9), v.model.name))
    if not versions:
        sys.exit("No version in production: run `DEBUG=true python manage.py demo_data` first.")
    version = versions[0]
    reader = get_user_model().objects.filter(username="reviewer").first() or get_user_model().objects.first()

    def build():
        return build_pack(name=version.model.name, number=version.number, user=reader)

    with CaptureQueriesContext(connection) as queries:
        build()
    pack, build_times = _timed(build, args.rounds)
    pdf, render_times = _timed(lambda: render(pack), args.rounds)
    document = pypdfium2.PdfDocument(pdf)
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    (var / "pack.pdf").write_bytes(pdf)
    document[0].render(scale=2).to_pil().save(var / "pack-page1.png")
    print(f"{version} ({version.model.risk_tier}), pack of {reader}: {len(queries.captured_queries)} queries")
    print(_report("build", build_times))
    print(_report("render PDF", render_times))
    print(f"PDF: {len(document)} pages, {len(pdf):,} bytes -> var/pack.pdf, page 1 -> var/pack-page1.png")
    if args.worst_case:
        full = worst_case(pack)
        pdf, times = _timed(lambda: render(full), args.rounds)
        pages = len(pypdfium2.PdfDocument(pdf))
        label = f"render PDF, every list at {pack.max_rows} rows"
        print(_report(label, times) + f"; {pages} pages, {len(pdf):,} bytes")


if __name__ == "__main__":
    main()
