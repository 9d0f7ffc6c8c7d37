"""Workflow steps: one module per rule family, run as ``python -m repgeom.steps.<step>``.

Each parses its arguments, reads its inputs, calls the functional core and writes its outputs atomically.
Measurably heavy imports (torch, ...) happen inside the step that needs them.

Importing this package tunes the process's allocator (:func:`tune_allocator`) before a step module loads
anything: the settings must be in place before torch and numpy allocate, or the arrays they keep reusing
still pay their page faults (the accuracy step importing torch first ran 68 s with 12.7 s of kernel time
instead of 54 s with 1.7 s).
"""

import ctypes


def tune_allocator():
    """Keep freed memory in the process instead of handing it back to the kernel (glibc's ``mallopt``).

    A step allocates the same large arrays batch after batch (a forward pass's activations, a Gram block);
    by default glibc maps big allocations fresh and trims the heap, so every batch pays its page faults
    again in kernel time.  With the mmap threshold at its maximum (32 MiB), no trimming and the heap grown
    in large steps, pages are reused: one forward pass over 10,000 digits 6.3-6.7 s -> 4.0 s (kernel time
    2.6 s -> 0), training 14 % faster (docs/decisions.md).  Numbers are unchanged (only where arrays live).
    No-op without glibc.
    """

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 2**31 - 1)  # M_TRIM_THRESHOLD: never trim the heap's top
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: mmap only allocations above 32 MiB (glibc's maximum)
        libc.mallopt(-2, 256 << 20)  # M_TOP_PAD: grow the heap 256 MiB at a time (address space, not memory)
    except (OSError, AttributeError):
        pass


tune_allocator()
