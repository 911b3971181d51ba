"""Run an iterator on a worker thread a few items ahead of its consumer (decoding ahead, detecting ahead).

OpenCV decoding, OpenCV DNN and ONNX Runtime release the GIL while they work, so a stage on a worker
thread overlaps with the Python work of the next stage (the tracker) instead of waiting for it.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator

_DONE = object()


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


def ahead(items: Iterable, depth: int, name: str = "omnitrax-ahead") -> Iterator:
    """Yield what `items` yields, in order, produced on a worker thread at most `depth` items ahead.

    An exception raised while producing is raised here, at the item where it happened. When the consumer
    stops early (breaks, closes or drops this generator) the worker stops too, and closes `items` on its
    own thread (a generator's `finally` there releases what it opened).
    """
    buffer: queue.Queue = queue.Queue(maxsize=max(int(depth), 1))
    halt = threading.Event()

    def put(item) -> bool:
        while not halt.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    break
        except BaseException as error:  # handed to the consumer, raised there
            put(_Raised(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            put(_DONE)  # also after an error, so the consumer never waits forever

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        halt.set()
        worker.join()
