"""Opaque, authenticated page ids for QR codes.

A page id is 10 bytes: a random 4-byte version token (looked up in the registry; it says
nothing about the household), the page number, and 5 bytes of HMAC-SHA256 under a
per-workspace secret. Base32 gives 16 characters, which fit a version-1 QR code at error
correction Q in alphanumeric mode (21x21 modules), small enough for a corner of the page.
A code from another workspace or a made-up one fails the HMAC and is rejected.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from .errors import ExitCode, SupportplanError
from .files import write_new_bytes

SECRET_FILENAME = ".secret"
TOKEN_BYTES = 4
MAC_BYTES = 5
PAYLOAD_CHARS = 16


class CodeError(ValueError):
    """A QR payload that is not an authentic page id of this workspace."""


# The editable Word file carries a code with this "page": a page printed from it has no
# page codes of its own, and the reader says so instead of failing to find any.
WORD_COPY_PAGE = 0


@dataclass(frozen=True)
class PageId:
    token: str  # 8 hex characters, identifies a plan version in the registry
    page: int  # 1-based page number in the plan PDF, or WORD_COPY_PAGE


class SecretError(SupportplanError):
    """The workspace's secret is missing or damaged where page codes depend on it."""

    exit_code = ExitCode.SECRET


_RESTORE = ("restore the file .secret from your backup of this workspace (it must be the "
            "very same file); every plan printed so far carries page codes made with it, so "
            "a new secret would make all of them unreadable")


def load_secret(workspace: Path, *, may_create: bool = True) -> bytes:
    """The workspace's secret, created (0600, 32 random bytes) on first use. Once plans
    have been printed with it (`may_create` False), a missing secret is never replaced."""
    path = workspace / SECRET_FILENAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not may_create:
            raise SecretError(f"{path} is missing, but plans have been printed with page codes "
                              f"made from it: {_RESTORE}") from None
        # Written aside and linked into place: another process starting at the same moment
        # sees no secret or the whole secret, never half of one.
        with contextlib.suppress(FileExistsError):  # another process made it: use theirs
            write_new_bytes(path, secrets.token_bytes(32))
        data = path.read_bytes()
    if len(data) < 16:
        raise SecretError(f"{path} is damaged (too short to be a secret): {_RESTORE}")
    return data


def new_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, b"supportplan-page\0" + body, hashlib.sha256).digest()[:MAC_BYTES]


def encode(page_id: PageId, secret: bytes) -> str:
    if not 0 <= page_id.page <= 255:
        raise ValueError(f"page {page_id.page} out of range 0..255")
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
