"""Encryption at rest of contact numbers (bot/privacy/encryption.py)."""

import pytest

from bot.privacy.encryption import PREFIX, DataKeyError, FieldCipher, new_key


def test_round_trip_and_no_plain_text_in_ciphertext():
    cipher = FieldCipher(new_key())
    stored = cipher.encrypt("010-1234-5678")
    assert stored.startswith(PREFIX)
    assert "1234" not in stored and "5678" not in stored
    assert cipher.decrypt(stored) == "010-1234-5678"
    assert cipher.encrypt(stored) == stored  # never encrypted twice
    assert cipher.encrypt(None) is None and cipher.decrypt(None) is None


def test_legacy_plain_values_pass_through():
    assert FieldCipher(new_key()).decrypt("010-1234-5678") == "010-1234-5678"


def test_rotation_old_key_still_decrypts():
    old, new = new_key(), new_key()
    stored = FieldCipher(old).encrypt("010-9999-0000")
    assert FieldCipher(f"{new},{old}").decrypt(stored) == "010-9999-0000"
    with pytest.raises(DataKeyError):
        FieldCipher(new).decrypt(stored)


@pytest.mark.parametrize("keys", ["", "  ", "not-a-key", "한글"])
def test_missing_or_bad_key_is_a_clear_error(keys):
    with pytest.raises(DataKeyError):
        FieldCipher(keys)
