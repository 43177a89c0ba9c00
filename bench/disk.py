"""fdatasync latency of the disk the servers write to, measured in the bench run itself.

Every write of the three systems waits for an fdatasync of its log on a majority of the
servers, so on a shared machine the disk's latency at the time of the run explains much
of the write figures. The probe appends 4 KiB to a fresh file and fdatasyncs it, as a
write-ahead log does, SAMPLES times or for at most MAX_S seconds.
"""

import os
import time

BLOCK_BYTES = 4096
SAMPLES = 500
MAX_S = 10.0


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))
    return sorted_values[rank]


def fdatasync_latency(directory, samples=SAMPLES, max_s=MAX_S):
    """{"p50_us", "p99_us", "samples"} of write(4 KiB) + fdatasync in `directory`."""
    path = os.path.join(directory, "fdatasync-probe")
    block = b"\0" * BLOCK_BYTES
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        deadline = time.monotonic() + max_s
        for _ in range(samples):
            t0 = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            times.append((time.perf_counter() - t0) * 1e6)
            if time.monotonic() >= deadline:
                break
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    return {"p50_us": percentile(times, 50), "p99_us": percentile(times, 99),
            "samples": len(times)}
