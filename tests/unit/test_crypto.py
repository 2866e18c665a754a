"""Envelope encryption of school data keys (infra.adapters.crypto)."""

from __future__ import annotations

import uuid

import pytest

from infra.adapters.crypto import (
    KeyUnwrapError,
    derive_key,
    generate_data_key,
    unwrap_key,
    wrap_key,
)

MASTER = bytes(range(32))
OTHER_MASTER = bytes(range(1, 33))


def test_wrap_unwrap_roundtrip() -> None:
    data_key = generate_data_key()
    school = uuid.uuid4().bytes
    wrapped = wrap_key(MASTER, data_key, school)
    assert wrapped.startswith("v1:")
    assert data_key.hex() not in wrapped
    assert unwrap_key(MASTER, wrapped, school) == data_key


def test_wrapping_is_randomised() -> None:
    data_key = generate_data_key()
    school = uuid.uuid4().bytes
    assert wrap_key(MASTER, data_key, school) != wrap_key(MASTER, data_key, school)


def test_wrong_master_key_fails_clearly() -> None:
    school = uuid.uuid4().bytes
    wrapped = wrap_key(MASTER, generate_data_key(), school)
    with pytest.raises(KeyUnwrapError, match="wrong master key"):
        unwrap_key(OTHER_MASTER, wrapped, school)


def test_key_moved_to_another_school_fails() -> None:
    wrapped = wrap_key(MASTER, generate_data_key(), uuid.uuid4().bytes)
    with pytest.raises(KeyUnwrapError):
        unwrap_key(MASTER, wrapped, uuid.uuid4().bytes)


@pytest.mark.parametrize("damaged", ["", "v1", "v2:AAAA", "v1:not base64!", "v1:AAAA"])
def test_damaged_wrapped_key_fails(damaged: str) -> None:
    with pytest.raises(KeyUnwrapError):
        unwrap_key(MASTER, damaged, b"ctx")


def test_bad_key_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="master key"):
        wrap_key(b"short", generate_data_key(), b"ctx")
    with pytest.raises(ValueError, match="data key"):
        wrap_key(MASTER, b"short", b"ctx")


def test_derive_key_is_deterministic_and_purpose_bound() -> None:
    a = derive_key(MASTER, "platform")
    assert len(a) == 32
    assert a == derive_key(MASTER, "platform")
    assert a != derive_key(MASTER, "other")
    assert a != derive_key(OTHER_MASTER, "platform")
    assert a != MASTER
