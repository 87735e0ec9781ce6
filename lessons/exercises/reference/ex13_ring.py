"""Lesson 13, exercise 1 (reference answer): ring all-reduce, simulated over a list of ranks."""
import numpy as np


def ring_allreduce(arrays, log=None):
    n = len(arrays)
    chunks = [np.array_split(np.array(a, dtype=float), n) for a in arrays]    # chunks[rank][k]
    # Reduce-scatter: at step s, rank r sends its chunk (r − s) mod n to rank r + 1, which adds it
    # to its own. After n − 1 steps rank r holds the finished sum of chunk (r + 1) mod n.
    for step in range(n - 1):
        sent = [(r, (r - step) % n, chunks[r][(r - step) % n].copy()) for r in range(n)]
        for r, k, chunk in sent:
            chunks[(r + 1) % n][k] += chunk
            if log is not None:
                log.append((r, (r + 1) % n, len(chunk)))
    # All-gather: pass the finished chunks on round the ring, replacing instead of adding.
    for step in range(n - 1):
        sent = [(r, (r + 1 - step) % n, chunks[r][(r + 1 - step) % n].copy()) for r in range(n)]
        for r, k, chunk in sent:
            chunks[(r + 1) % n][k] = chunk
            if log is not None:
                log.append((r, (r + 1) % n, len(chunk)))
    return [np.concatenate(c) for c in chunks]
