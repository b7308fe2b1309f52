"""Start one Celery worker per GPU on this node, each seeing only its own card (CUDA_VISIBLE_DEVICES set to
the card's UUID), so two benchmarks never share a GPU. Each consumes ``gpu`` and ``gpu.<class>`` (added by
the worker itself from what NVML reports) and is named gpu<index>@<host>. Ctrl-C or SIGTERM stops them all;
if one exits, the others are stopped too and the command exits non-zero, for the supervisor to restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from fleet import hardware
from registry.inspection.sandbox import die_with_parent


def worker_commands(gpus: list[dict], *, queues: str = "gpu", loglevel: str = "INFO") -> list[tuple[list[str], dict]]:
    """(argv, environment) of the worker for each GPU: one process, concurrency 1, pinned to the card's UUID."""
    commands = []
    for gpu in gpus:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            queues,
            "-c",
            "1",
            "--prefetch-multiplier",
            "1",
            "-n",
            f"gpu{gpu['index']}@%h",
            "--loglevel",
            loglevel,
        ]
        commands.append((argv, {**os.environ, "CUDA_VISIBLE_DEVICES": gpu["uuid"]}))
    return commands


class Command(BaseCommand):
    help = "Start one Celery worker per visible GPU (CUDA_VISIBLE_DEVICES pinned to each card) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--queues", default="gpu", help="queues besides gpu.<class> (default %(default)s)")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument("--dry-run", action="store_true", help="print the workers it would start, and exit")

    def handle(self, *args, queues: str, loglevel: str, dry_run: bool, **options):
        nvml = hardware.nvml()
        if not nvml["gpus"]:
            raise CommandError(
                f"No GPU to start workers for: {nvml.get('reason', 'NVML shows none')}. On a node without GPUs "
                "start a CPU worker instead: celery -A portal worker -Q cpu"
            )
        commands = worker_commands(nvml["gpus"], queues=queues, loglevel=loglevel)
        for gpu, (argv, _env) in zip(nvml["gpus"], commands, strict=True):
            self.stdout.write(f"GPU {gpu['index']} {gpu['name']} ({gpu['uuid']}): {' '.join(argv[2:])}")
        if dry_run:
            return
        children = [
            subprocess.Popen(argv, env=env, preexec_fn=lambda: die_with_parent(signal.SIGTERM))  # noqa: S603
            for argv, env in commands
        ]

        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()

        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        try:
            while all(child.poll() is None for child in children):
                time.sleep(1)
            self.stderr.write("A GPU worker stopped; stopping the others.")
        except KeyboardInterrupt:
            pass
        finally:
            stop()
        if any(child.returncode not in (0, -signal.SIGTERM) for child in children):
            raise CommandError("A GPU worker exited with an error; see its log above.")
