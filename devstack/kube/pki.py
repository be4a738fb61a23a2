"""Throwaway PKI and credentials for one devstack control plane.

Every start writes a fresh CA, an apiserver serving certificate for the loopback names, a
service-account signing key and a token file with one token per identity. Nothing here is
secret beyond the lifetime of the substrate: the CA key never leaves the workdir and the
apiserver listens on loopback only. ECDSA P-256 keys keep generation in the milliseconds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The DNS names a client inside or outside the cluster may use for the apiserver.
_SERVING_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class Identity:
    """A static-token identity known to the apiserver (a line of its --token-auth-file)."""

    user: str
    groups: tuple[str, ...]
    token: str


@dataclass(frozen=True)
class Pki:
    """Paths of the generated material, plus the tokens."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path
    token_file: Path
    admin: Identity
    controller_manager: Identity
    podrunner: Identity


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def generate(directory: Path, service_ip: str) -> Pki:
    """Write a fresh CA, serving certificate, SA key pair and token file into `directory`.

    `service_ip` is the first address of the service CIDR (the `kubernetes` Service), which a
    certificate for in-cluster clients must name.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    not_before = now - dt.timedelta(minutes=5)  # tolerate small clock skew between processes
    not_after = now + dt.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("kplane-devstack-ca")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    serving_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in _SERVING_DNS_NAMES]
    sans += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address(service_ip)),
    ]
    serving_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kube-apiserver"))
        .issuer_name(ca_name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    sa_key = ec.generate_private_key(ec.SECP256R1())

    paths = {
        "ca_cert": directory / "ca.crt",
        "ca_key": directory / "ca.key",
        "serving_cert": directory / "apiserver.crt",
        "serving_key": directory / "apiserver.key",
        "sa_key": directory / "sa.key",
        "sa_pub": directory / "sa.pub",
        "token_file": directory / "tokens.csv",
    }
    paths["ca_cert"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(paths["ca_key"], ca_key)
    paths["serving_cert"].write_bytes(serving_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(paths["serving_key"], serving_key)
    _write_key(paths["sa_key"], sa_key)
    paths["sa_pub"].write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    admin = Identity("kplane-admin", ("system:masters",), secrets.token_hex(24))
    # The controller-manager authenticates as the identity the bootstrap RBAC policy knows and
    # runs each controller with its own service account (--use-service-account-credentials),
    # exactly as kubeadm sets it up, so RBAC is exercised rather than bypassed.
    controller_manager = Identity("system:kube-controller-manager", (), secrets.token_hex(24))
    # The pod runner does a kubelet's job plus a volume provisioner's (it creates PVs); a
    # dedicated least-privilege role would be more faithful but buys nothing locally.
    podrunner = Identity("kplane-devstack-podrunner", ("system:masters",), secrets.token_hex(24))
    lines = []
    for ident in (admin, controller_manager, podrunner):
        line = f"{ident.token},{ident.user},{ident.user}"
        if ident.groups:  # an empty 4th column would put the user in a group named ""
            line += ',"' + ",".join(ident.groups) + '"'
        lines.append(line)
    paths["token_file"].write_text("\n".join(lines) + "\n")
    paths["token_file"].chmod(0o600)

    return Pki(
        **paths,
        admin=admin,
        controller_manager=controller_manager,
        podrunner=podrunner,
    )
