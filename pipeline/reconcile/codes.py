"""Opaque, authenticated page ids for QR codes.

A page id is 10 bytes: a random 4-byte version token (looked up in the registry; it says
nothing about the household), the page number, and 5 bytes of HMAC-SHA256 under a
per-workspace secret. Base32 gives 16 characters, which fit a version-1 QR code at error
correction Q in alphanumeric mode (21x21 modules), small enough for a corner of the page.
A code from another workspace or a made-up one fails the HMAC and is rejected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SECRET_FILENAME = ".secret"
TOKEN_BYTES = 4
MAC_BYTES = 5
PAYLOAD_CHARS = 16


class CodeError(ValueError):
    """A QR payload that is not an authentic page id of this workspace."""


@dataclass(frozen=True)
class PageId:
    token: str  # 8 hex characters, identifies a plan version in the registry
    page: int  # 1-based page number in the plan PDF


def load_secret(workspace: Path) -> bytes:
    """The workspace's secret, created (0600, 32 random bytes) on first use."""
    path = workspace / SECRET_FILENAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    if len(data) < 16:
        raise CodeError(f"{path} is too short to be a secret; delete it only if no plan has "
                        "been printed yet (printed codes would stop being recognised)")
    return data


def new_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, b"supportplan-page\0" + body, hashlib.sha256).digest()[:MAC_BYTES]


def encode(page_id: PageId, secret: bytes) -> str:
    if not 1 <= page_id.page <= 255:
        raise ValueError(f"page {page_id.page} out of range 1..255")
    body = bytes.fromhex(page_id.token) + bytes([page_id.page])
    return base64.b32encode(body + _mac(secret, body)).decode("ascii")


def decode(payload: str, secret: bytes) -> PageId:
    text = payload.strip().upper()
    if len(text) != PAYLOAD_CHARS:
        raise CodeError("the QR code is not a supportplan page code")
    try:
        raw = base64.b32decode(text)
    except ValueError:
        raise CodeError("the QR code is not a supportplan page code") from None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise CodeError("the QR code was not issued by this office (authentication failed): "
                        "a plan from another organisation, or a forged or damaged code")
    return PageId(body[:TOKEN_BYTES].hex(), body[TOKEN_BYTES])
