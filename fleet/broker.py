"""How many messages wait in each broker queue, read straight from the broker (Redis or the filesystem
transport), with a short timeout: a broker that is down is /readyz's to report, not a reason to hang a page."""

from __future__ import annotations

import os
from collections.abc import Iterable

import redis
from django.conf import settings

BASE_QUEUES = ("cpu", "gpu", "events")


def queue_depths(queues: Iterable[str]) -> dict[str, int] | None:
    """{queue: messages waiting}, or None when the broker cannot be read."""
    queues = sorted(set(queues))
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith("redis"):
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            with client.pipeline(transaction=False) as pipe:
                for queue in queues:
                    pipe.llen(queue)
                return {q: int(n) for q, n in zip(queues, pipe.execute(), strict=True)}
        if url.startswith("filesystem"):
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
            names = os.listdir(folder) if os.path.isdir(folder) else []
            # kombu names a message <time>_<uuid>.<queue>.msg; a queue's name may hold dots (gpu.h100).
            counts = dict.fromkeys(queues, 0)
            for name in names:
                if name.endswith(".msg") and "." in name[:-4]:
                    queue = name[:-4].split(".", 1)[1]
                    if queue in counts:
                        counts[queue] += 1
            return counts
    except (redis.RedisError, OSError):
        return None
    return None
