"""A lock-free single-producer / single-consumer ring buffer of float32 samples.

The storage is one preallocated ``float32`` array. Two monotonically increasing counters say how
many samples were ever written (``write_count``, stored only by the producer) and ever read
(``read_count``, stored only by the consumer); ``write_count - read_count`` samples are
buffered. Each side copies its data *before* publishing its counter, so the other side never
sees a slot that is not ready (in CPython an attribute store is atomic and ordered after the
preceding ``np.copyto``; no lock is ever taken).

Neither side allocates arrays: copies go through :func:`numpy.copyto` into slices (views) of the
preallocated storage, so :meth:`RingBuffer.read_into` is safe to call from an audio callback.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RingBuffer"]


class RingBuffer:
    """``capacity`` float32 samples shared by exactly one producer and one consumer thread.

    Producer side: :meth:`write`, :attr:`writable`. Consumer side: :meth:`read_into`,
    :meth:`skip_to`, :attr:`readable`. Calling a side's methods from two threads at once is a
    bug (the counters would race); the two sides may run concurrently.
    """

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) \
                or capacity < 1:
            raise ValueError(f"capacity must be a positive number of samples, got {capacity!r}")
        self.capacity = int(capacity)
        self._storage = np.zeros(self.capacity, dtype=np.float32)
        self._write = 0  # samples ever written; stored by the producer only
        self._read = 0  # samples ever read (or skipped); stored by the consumer only

    @property
    def write_count(self) -> int:
        """Samples ever written (monotonic)."""
        return self._write

    @property
    def read_count(self) -> int:
        """Samples ever read or skipped (monotonic)."""
        return self._read

    @property
    def readable(self) -> int:
        """Samples buffered now (a lower bound while the producer is writing)."""
        return self._write - self._read

    @property
    def writable(self) -> int:
        """Free slots now (a lower bound while the consumer is reading)."""
        return self.capacity - (self._write - self._read)

    # -- producer ----------------------------------------------------------------------------
    def write(self, data: np.ndarray) -> int:
        """Copy as many samples of ``data`` (1-D float32) as fit; returns how many. Never
        blocks: the caller retries the rest later."""
        n = min(int(data.shape[0]), self.capacity - (self._write - self._read))
        if n <= 0:
            return 0
        pos = self._write % self.capacity
        first = min(n, self.capacity - pos)
        np.copyto(self._storage[pos:pos + first], data[:first], casting="same_kind")
        if n > first:
            np.copyto(self._storage[:n - first], data[first:n], casting="same_kind")
        self._write += n  # publish after the data is in place
        return n

    # -- consumer ----------------------------------------------------------------------------
    def read_into(self, out: np.ndarray) -> int:
        """Copy up to ``len(out)`` buffered samples into ``out`` (1-D float32, e.g. a view of an
        audio callback's buffer); returns how many. Never blocks, never allocates arrays."""
        n = min(int(out.shape[0]), self._write - self._read)
        if n <= 0:
            return 0
        pos = self._read % self.capacity
        first = min(n, self.capacity - pos)
        np.copyto(out[:first], self._storage[pos:pos + first])
        if n > first:
            np.copyto(out[first:n], self._storage[:n - first])
        self._read += n  # release the slots after the copy
        return n

    def skip_to(self, position: int) -> int:
        """Discard buffered samples up to absolute ``position`` (clamped to what is written);
        returns how many were discarded. Used to flush an interrupted line."""
        target = min(int(position), self._write)
        skipped = target - self._read
        if skipped <= 0:
            return 0
        self._read = target
        return skipped
