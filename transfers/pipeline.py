"""Hash and write an upload's bytes on a thread of their own while the request thread reads the socket (and
parses): hashlib and file writes release the GIL on large buffers, so an upload runs at the pace of the
slower side instead of the sum of both (bench/README.md). Used by the tus PATCH and the API's multipart
parser (registry.streaming)."""

from __future__ import annotations

import queue
import threading
from typing import IO, Any


class BackgroundWriter:
    """At most DEPTH chunks wait, so memory stays bounded. A chunk must not change once queued: the callers
    pass the immutable bytes they read, or views of them, so nothing is copied to queue it."""

    DEPTH = 4

    def __init__(self):
        self.queue: queue.Queue = queue.Queue(maxsize=self.DEPTH)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="upload-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            sink, digests, chunk = item
            try:
                if self.error is None:
                    for digest in digests:
                        digest.update(chunk)
                    sink.write(chunk)
            except BaseException as exc:  # a full disk: raised in the request thread at its next call
                self.error = exc
            finally:
                self.queue.task_done()
        self.queue.task_done()

    def put(self, sink: IO[bytes], digests: list[Any], chunk: bytes | memoryview) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((sink, digests, chunk))

    def drain(self) -> None:
        """Wait until every queued chunk is hashed and written; raise what went wrong on the way."""
        self.queue.join()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Let the queued chunks finish and end the thread; a second call does nothing."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class InlineWriter:
    """BackgroundWriter's interface, done in the calling thread: for a body too small to gain from a second
    thread (starting one costs more than hashing a few kilobytes)."""

    def put(self, sink: IO[bytes], digests: list[Any], chunk: bytes | memoryview) -> None:
        for digest in digests:
            digest.update(chunk)
        sink.write(chunk)

    def drain(self) -> None:
        return None

    def stop(self) -> None:
        return None


INLINE_BELOW = 8 * 1024 * 1024


def writer_for(length: int | None) -> BackgroundWriter | InlineWriter:
    """A thread of its own for large or unknown lengths; inline for small bodies."""
    return InlineWriter() if length is not None and length < INLINE_BELOW else BackgroundWriter()
