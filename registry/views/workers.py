"""The Workers page: the fleet as IT runs it (every signed-in person may read it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fleet.broker import queue_depths
from fleet.selectors import fleet_now, worker_list
from portal.core.views import paginate
from registry import permissions, selectors

WORKERS_PER_PAGE = 50


@login_required
def worker_list_page(request: HttpRequest) -> HttpResponse:
    fleet = fleet_now()
    page, query = paginate(request, worker_list(), WORKERS_PER_PAGE)
    workers = list(page.object_list)
    finished, running = selectors.worker_activity([w.name for w in workers], [w.current_job_id for w in workers])
    for worker in workers:
        worker.finished_24h = finished.get(worker.name, 0)
        worker.running = running.get(worker.current_job_id) if worker.is_online else None
    return render(
        request,
        "registry/worker_list.html",
        {
            "page": page,
            "workers": workers,
            "query": query,
            "summary": selectors.fleet_summary(fleet),
            "queues": _queues(fleet),
            "online_count": len(fleet.online),
            "can_view_jobs": permissions.can_view_jobs(request.user),
        },
    )


def _queues(fleet) -> list[tuple[str, int, int]] | None:
    """(queue, messages waiting in the broker, online workers consuming it), or None if the broker is down."""
    depths = queue_depths(selectors.watched_queues(fleet))
    if depths is None:
        return None
    return [(queue, depth, sum(queue in w.queues for w in fleet.online)) for queue, depth in depths.items()]
