"""Throw-away certificate authorities for the TLS tests (python3-cryptography).

Pki(dir) writes PEM files into `dir` (a test's temp dir; nothing is ever committed):

    ca(name)                       -> path of a self-signed CA certificate (a trust store)
    key_store(name, ca, expired)   -> path of one file holding a fresh private key and its
                                      certificate signed by `ca`, ZooKeeper's PEM key store;
                                      .cert_path(name) and .key_path(name) give them apart
                                      (kazoo's certfile and keyfile)

Certificates name 127.0.0.1 and localhost (CN and subjectAltName). An expired one was valid
from 30 days ago until yesterday.
"""

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import ipaddress

VALID_DAYS = 30


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Pki:
    def __init__(self, directory):
        self.dir = directory
        self._cas = {}

    def _path(self, name, suffix):
        return os.path.join(self.dir, name + suffix)

    def ca(self, name):
        if name in self._cas:
            return self._path(name, ".ca.pem")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.utcnow()
        cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        self._cas[name] = (key, cert)
        with open(self._path(name, ".ca.pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        return self._path(name, ".ca.pem")

    def key_store(self, name, ca, expired=False):
        self.ca(ca)
        ca_key, ca_cert = self._cas[ca]
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.utcnow()
        if expired:
            start, end = now - datetime.timedelta(days=VALID_DAYS), now - datetime.timedelta(days=1)
        else:
            start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=VALID_DAYS)
        san = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                           x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca_cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(san, critical=False)
                .sign(ca_key, hashes.SHA256()))
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        with open(self.cert_path(name), "wb") as f:
            f.write(cert_pem)
        with open(self.key_path(name), "wb") as f:
            f.write(_pem_key(key))
        with open(self._path(name, ".keystore.pem"), "wb") as f:
            f.write(_pem_key(key) + cert_pem)
        return self._path(name, ".keystore.pem")

    def cert_path(self, name):
        return self._path(name, ".crt.pem")

    def key_path(self, name):
        return self._path(name, ".key.pem")
