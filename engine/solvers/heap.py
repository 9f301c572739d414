"""Keep glibc's malloc from returning HiGHS's work memory to the system between uses during a simplex run.

HiGHS allocates and frees work vectors of several MB while it iterates. glibc's malloc serves a block below its mmap
threshold from the heap and gives the top of the heap back to the system when more than the trim threshold (twice
the mmap threshold) is free there; both thresholds start at 128 KiB / 256 KiB and rise to the size of the largest
mmapped block the process has freed (at most 32 MiB). A process that has freed no block larger than the model's
arrays (build_market's largest, about 9 MB at 1.1M non-zeros) trims the heap under HiGHS's feet: the next allocation
faults the pages back in. Measured on the market benchmark's LP (1.1M non-zeros, 33,286 simplex iterations), the
same ``run()`` in the process that built the model took 0.86-0.96 s of system time and 590,000 minor page faults,
against 0.08-0.12 s and 58,000 after ``settle_heap`` (and 0.10 s, 54,000 in a fresh process that only read the MPS,
whose reader frees large buffers); user time and peak resident memory were unchanged (2.3 s, 610 MB).

``settle_heap()``, called just before a large model's run, allocates, touches and frees one 24 MiB block, as any
numpy array of that size does: glibc keeps the work memory in the heap afterwards (a call before the model is handed
to HiGHS, or once per process before a smaller model, was measured not to help; a call costs 0.2 ms once the heap
has grown). Nothing is pinned and no malloc option is set; with another allocator the block is simply freed.
"""

from __future__ import annotations

import numpy as np

BLOCK_BYTES = 24 * 2**20  # below glibc's 32 MiB ceiling on the dynamic mmap threshold


def settle_heap() -> None:
    """Allocate, touch and free one BLOCK_BYTES block: see the module docstring."""
    block = np.empty(BLOCK_BYTES, dtype=np.uint8)
    block[::4096] = 0  # touch each page, so the block is really allocated and freed
    del block


__all__ = ["settle_heap"]
