"""Free TCP port picker for integration tests.

Binds 127.0.0.1:0, reads the port the kernel chose and closes the socket. There is a small
race (another process may take the port before the server binds it); callers that start a
server on the port retry start-up on a bind failure, which is rare enough in practice.
"""

import socket


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
