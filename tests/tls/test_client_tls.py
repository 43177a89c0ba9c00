"""TLS for clients on secureClientPort (ZooKeeper's ssl.* keys), with kazoo's use_ssl.

Every refusal is checked on both ends: the client does not get a session, and the server's
log names the reason of the failed handshake.
"""

import os
import socket
import ssl
import subprocess
import tempfile
import time

import pytest
from kazoo.client import KazooClient
from kazoo.handlers.threading import KazooTimeoutError

from conftest import wait_log

SESSION_TIMEOUT_S = 10.0
# A refused client keeps retrying; this long without a session means "refused".
REFUSED_START_S = 2.0
HANDSHAKE_TIMEOUT_MS = 500


def read_log(server):
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        return f.read()


def tls_client(server, pki, ca="ca", cert=None):
    kwargs = {"use_ssl": True, "ca": pki.ca(ca)}
    if cert is not None:
        kwargs["certfile"] = pki.cert_path(cert)
        kwargs["keyfile"] = pki.key_path(cert)
    return KazooClient(hosts="127.0.0.1:%d" % server.secure_port, timeout=SESSION_TIMEOUT_S,
                       connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 0.2},
                       **kwargs)


def assert_refused(zk):
    try:
        with pytest.raises(KazooTimeoutError):
            zk.start(timeout=REFUSED_START_S)
    finally:
        zk.stop()
        zk.close()


@pytest.fixture
def good_server(tls_server, pki):
    pki.key_store("client", "ca")
    return tls_server(pki.key_store("server", "ca"),
                      **{"ssl.handshakeDetectionTimeoutMillis": HANDSHAKE_TIMEOUT_MS})


def test_kazoo_over_tls_next_to_the_plain_port(good_server, pki):
    zk = tls_client(good_server, pki, cert="client")
    zk.start(timeout=SESSION_TIMEOUT_S)
    try:
        zk.create("/tls", b"over tls")
        assert zk.get("/tls")[0] == b"over tls"
        plain = KazooClient(hosts=good_server.hosts, timeout=SESSION_TIMEOUT_S)
        plain.start(timeout=SESSION_TIMEOUT_S)
        try:
            assert plain.get("/tls")[0] == b"over tls"
            plain.set("/tls", b"from plain")
        finally:
            plain.stop()
            plain.close()
        assert zk.get("/tls")[0] == b"from plain"
    finally:
        zk.stop()
        zk.close()


def test_four_letter_word_over_tls(good_server, pki):
    ctx = ssl.create_default_context(cafile=pki.ca("ca"))
    ctx.load_cert_chain(pki.cert_path("client"), pki.key_path("client"))
    with socket.create_connection(("127.0.0.1", good_server.secure_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"ruok")
            # The server ends the answer with close_notify: a clean end of the stream.
            assert s.recv(64) == b"imok"
            assert s.recv(64) == b""
    conf = good_server.four_letter("conf")
    assert "secureClientPort=%d\n" % good_server.secure_port in conf
    assert "ssl.clientAuth=need\n" in conf


def test_server_from_another_ca_refused_by_client(good_server, pki):
    assert_refused(tls_client(good_server, pki, ca="other-ca", cert="client"))
    assert wait_log(lambda: read_log(good_server), "TLS handshake failed: tlsv1 alert unknown ca")


def test_client_from_another_ca_refused_by_server(good_server, pki):
    pki.key_store("rogue-client", "other-ca")
    assert_refused(tls_client(good_server, pki, cert="rogue-client"))
    assert wait_log(lambda: read_log(good_server),
                    "TLS handshake failed: certificate refused: unable to get local issuer")


def test_expired_client_certificate_refused(good_server, pki):
    pki.key_store("expired-client", "ca", expired=True)
    assert_refused(tls_client(good_server, pki, cert="expired-client"))
    assert wait_log(lambda: read_log(good_server),
                    "TLS handshake failed: certificate refused: certificate has expired")


def test_client_without_certificate_refused_when_needed(good_server, pki):
    assert_refused(tls_client(good_server, pki))
    assert wait_log(lambda: read_log(good_server),
                    "TLS handshake failed: peer did not return a certificate")


def test_expired_server_certificate_refused_by_client(tls_server, pki):
    server = tls_server(pki.key_store("expired-server", "ca", expired=True))
    pki.key_store("client", "ca")
    assert_refused(tls_client(server, pki, cert="client"))
    assert wait_log(lambda: read_log(server), "alert certificate expired")


def test_client_auth_none_needs_no_client_certificate(tls_server, pki):
    server = tls_server(pki.key_store("server", "ca"), **{"ssl.clientAuth": "none"})
    zk = tls_client(server, pki)
    zk.start(timeout=SESSION_TIMEOUT_S)
    try:
        zk.create("/anonymous")
    finally:
        zk.stop()
        zk.close()


def test_silent_and_plaintext_connections_closed(good_server):
    with socket.create_connection(("127.0.0.1", good_server.secure_port), timeout=5) as s:
        start = time.monotonic()
        assert s.recv(64) == b""  # closed by the server, never answered
        assert time.monotonic() - start < HANDSHAKE_TIMEOUT_MS / 1000.0 + 3.0
    assert wait_log(lambda: read_log(good_server),
                    "TLS handshake not done after %d ms" % HANDSHAKE_TIMEOUT_MS)
    with socket.create_connection(("127.0.0.1", good_server.secure_port), timeout=5) as s:
        # A ZooKeeper connect request in the clear (its length, then zeros): not TLS.
        s.sendall(b"\x00\x00\x00\x2c" + bytes(44))
        s.recv(64)  # an alert, or nothing
    assert wait_log(lambda: read_log(good_server), "TLS handshake failed: ")


@pytest.mark.parametrize("key, value, message", [
    ("ssl.clientAuth", "maybe", "ssl.clientAuth: 'maybe' is not need, want or none"),
    ("ssl.protocol", "TLSv1.1", "ssl.protocol: unknown protocol 'TLSv1.1'"),
    ("ssl.ciphersuites", "TLS_NO_SUCH_SUITE_WITH_X", "unknown cipher suite"),
    ("ssl.keyStore.location", "/nonexistent/server.pem",
     "ssl.keyStore.location: /nonexistent/server.pem: No such file or directory"),
    ("ssl.keyStore.type", "PKCS12", "ssl.keyStore.type: only PEM is supported"),
    ("ssl.trustStore.type", "JKS", "ssl.trustStore.type: only PEM is supported"),
    ("ssl.trustStore.location", "", "ssl.trustStore.location is required"),
])
def test_bad_tls_settings_stop_start_up(pki, key, value, message):
    # Any ports: start-up fails before anything is bound.
    cfg = {"clientPort": 0, "secureClientPort": 1, "admin.enableServer": "false",
           "ssl.keyStore.location": pki.key_store("server", "ca"),
           "ssl.trustStore.location": pki.ca("ca"), key: value}
    with tempfile.TemporaryDirectory(prefix="tls-badcfg-") as d:
        path = os.path.join(d, "zoo.cfg")
        with open(path, "w") as f:
            f.write("dataDir=%s\n" % os.path.join(d, "data"))
            for k, v in cfg.items():
                f.write("%s=%s\n" % (k, v))
        done = subprocess.run([os.environ["SYNOD_BIN"], "serve", "-c", path], cwd=d,
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done
    assert message in done.stderr, done.stderr
