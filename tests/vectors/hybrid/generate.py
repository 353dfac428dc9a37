#!/usr/bin/env python3
"""Known-answer vectors for medreg's hybrid encryption (docs/protocol.md),
computed with an independent implementation (pyca/cryptography), so that the
C code is checked against the specification, not against itself.

Run once; the outputs are committed. Needs python3-cryptography."""
import datetime
import hashlib
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

AAD = b"medreg/kat/aad"
PT = b"medreg hybrid known-answer plaintext"


def cert_for(key, name):
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime(2026, 1, 1)
    c = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
         .public_key(key.public_key()).serial_number(1)
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=36500))
         .sign(key, hashes.SHA256()))
    return c.public_bytes(serialization.Encoding.PEM)


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


def seal(recipient_pub, header, ikm, salt):
    spki = recipient_pub.public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    info = b"medreg/hybrid/v1" + header + hashlib.sha256(spki).digest()
    okm = HKDF(hashes.SHA256(), 44, salt if salt else None, info).derive(ikm)
    return header + AESGCM(okm[:32]).encrypt(okm[32:], PT, header + AAD)


# ECIES on P-256: fixed recipient and ephemeral keys
rk = ec.derive_private_key(0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721, ec.SECP256R1())
ek = ec.derive_private_key(0x519B423D715F8B581F4FA8EE59F4771A5B44C8130B4E3EACCA54A56DDA72B464, ec.SECP256R1())
point = ek.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
header = b"MRH\x01" + bytes([2, 1]) + struct.pack(">H", len(point)) + point
z = ek.exchange(ec.ECDH(), rk.public_key())
write("ec-p256.key", rk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
write("ec-p256.crt", cert_for(rk, "kat-ec"))
write("ec-p256-ephemeral.key", ek.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
write("ec-p256.ct.hex", seal(rk.public_key(), header, z, point).hex().encode() + b"\n")

# RSA-2048 with OAEP-SHA-1 and OAEP-SHA-256: fixed seed, OAEP randomised
rsk = rsa.generate_private_key(65537, 2048)
write("rsa-2048.key", rsk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
write("rsa-2048.crt", cert_for(rsk, "kat-rsa"))
seed = bytes(range(32))
for hid, h in ((1, hashes.SHA1()), (2, hashes.SHA256())):
    encap = rsk.public_key().encrypt(seed, padding.OAEP(padding.MGF1(h), h, None))
    header = b"MRH\x01" + bytes([1, hid]) + struct.pack(">H", len(encap)) + encap
    write("rsa-2048-oaep%d.ct.hex" % hid, seal(rsk.public_key(), header, seed, b"").hex().encode() + b"\n")
