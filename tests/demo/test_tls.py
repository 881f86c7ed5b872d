"""HTTPS with a trustme CA: the node serves TLS when given a certificate and key."""

from __future__ import annotations

import ssl

import httpx
import pytest
import trustme


def test_tls(make_node, tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = tmp_path / "server.pem", tmp_path / "server.key"
    cert.cert_chain_pems[0].write_to_path(cert_path)
    cert.private_key_pem.write_to_path(key_path)
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)

    node = make_node("1.7.3", tls_cert=cert_path, tls_key=key_path)
    assert node.url.startswith("https://127.0.0.1:")
    with httpx.Client(verify=trusted) as c:
        assert c.get(node.url + "/version").json()["version"] == "1.7.3"
    with httpx.Client() as c, pytest.raises(httpx.ConnectError):  # unknown CA
        c.get(node.url + "/health")
    with httpx.Client(verify=trusted) as c:  # the server survived the failed handshake
        assert c.get(node.url + "/health").status_code == 200
