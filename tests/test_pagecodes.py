"""Page codes: authentic ids round-trip; foreign, forged and damaged codes are rejected."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipeline.pagecodes import CodeError, PageId, decode, encode, load_secret, new_token


def test_round_trip_and_fits_a_version_1_qr_code() -> None:
    secret = b"s" * 32
    page_id = PageId(new_token(), 3)
    payload = encode(page_id, secret)
    assert len(payload) == 16 and payload.isalnum() and payload.upper() == payload
    assert decode(payload, secret) == page_id


def test_code_from_another_workspace_is_rejected() -> None:
    payload = encode(PageId("0a0b0c0d", 1), b"a" * 32)
    with pytest.raises(CodeError, match="not issued by this office"):
        decode(payload, b"b" * 32)


def test_forged_page_number_is_rejected() -> None:
    secret = b"s" * 32
    payload = encode(PageId("0a0b0c0d", 1), secret)
    forged = encode(PageId("0a0b0c0d", 2), b"x" * 32)[:8] + payload[8:]
    with pytest.raises(CodeError):
        decode(forged, secret)
    with pytest.raises(CodeError, match="not a supportplan page code"):
        decode("https://example.org/", secret)


def test_secret_is_created_once_private(tmp_path: Path) -> None:
    first = load_secret(tmp_path)
    assert load_secret(tmp_path) == first and len(first) == 32
    assert stat.S_IMODE((tmp_path / ".secret").stat().st_mode) == 0o600
