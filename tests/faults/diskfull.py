"""A small file system of its own for a server's data directory, and filling it up.

A tmpfs of a few MiB is mounted on the data directory (root only), so a "full disk" is
exactly that server's: fill() writes a filler file until the file system says ENOSPC, free()
removes it. The mount's source name carries a tag (the harness puts its PID in it) so that
mounts left by a harness that died (kill -9) can be found in /proc/self/mounts and removed.
tmpfs keeps its contents while mounted, whatever happens to the server process, so kills and
restarts work on it as on a disk; unmounting drops the contents (copy them out first to keep
them).
"""

import errno
import os
import subprocess

FILLER = "harness-filler"
FILL_CHUNK_BYTES = 64 * 1024
MOUNT_TIMEOUT_S = 20


def mount_tmpfs(path, size_bytes, source):
    """Mounts a tmpfs of size_bytes on path (an existing, empty directory)."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size_bytes, source, path],
                   check=True, timeout=MOUNT_TIMEOUT_S, capture_output=True)


def umount(path):
    """Unmounts path; a lazy unmount if a process still holds a file there."""
    r = subprocess.run(["umount", path], timeout=MOUNT_TIMEOUT_S, capture_output=True)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", path], timeout=MOUNT_TIMEOUT_S, capture_output=True)


def mounts_with_source(prefix):
    """[(source, mount point)] of the tmpfs mounts whose source name starts with prefix."""
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "tmpfs" and fields[0].startswith(prefix):
                found.append((fields[0], fields[1].replace("\\040", " ")))
    return found


def fill(directory, limit_bytes):
    """Writes a filler file in directory until ENOSPC (or limit_bytes, a bound in case the
    file system is not the small one it should be). Returns the bytes written."""
    path = os.path.join(directory, FILLER)
    chunk = b"\0" * FILL_CHUNK_BYTES
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        # Bounded by limit_bytes; ends at the first ENOSPC, then fills the last pages.
        while written < limit_bytes:
            try:
                written += os.write(fd, chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        for size in (4096, 512, 64, 8, 1):
            try:
                # Bounded: each size writes until the space left is below it.
                while written < limit_bytes:
                    written += os.write(fd, b"\0" * size)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return written


def free(directory):
    """Removes the filler; True if there was one."""
    try:
        os.unlink(os.path.join(directory, FILLER))
        return True
    except FileNotFoundError:
        return False
