"""Run an iterator one step ahead in a background thread.

While the model trains on batch k, the thread is already gathering, augmenting and
normalising batch k+1 (NumPy releases the GIL for most of that work). A single
producer feeding a FIFO queue keeps the order exactly that of the iterator.
"""

import queue
import threading

_POLL_S = 0.1  # how often a blocked producer checks whether the consumer has gone


def prefetch(items, depth: int = 2):
    """Yield the items of ``items`` in order, computed up to ``depth`` ahead in a thread.

    An exception in the producer is re-raised in the consumer. Closing the generator
    (e.g. ``break`` out of the loop) stops and joins the thread.
    """
    if depth < 1:
        raise ValueError(f"prefetch depth must be >= 1, got {depth}")
    slots = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message) -> bool:
        # A plain put() could block forever once the consumer stops reading.
        while not stop.is_set():
            try:
                slots.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as err:  # handed to the consumer, which re-raises it
            put(("error", err))

    worker = threading.Thread(target=produce, name="tinycoat-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join()
