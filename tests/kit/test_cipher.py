"""Platform tokens at rest: encrypted with the first key, opened with any, rotated, and a
tampered or foreign ciphertext refused; malformed keys stop the process at start."""

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError

from app.kit.cipher import Cipher, UndecryptableSecret, cipher
from app.settings import Settings


def test_a_token_round_trips_and_is_not_stored_in_clear() -> None:
    box = Cipher([Fernet.generate_key()])
    sealed = box.encrypt("oauth:access-token-1")
    assert "access-token-1" not in sealed
    assert box.decrypt(sealed) == "oauth:access-token-1"


def test_rotation_keeps_old_ciphertexts_open_and_moves_them_to_the_new_key() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_with_old = Cipher([old]).encrypt("refresh-1")
    rotated = Cipher([new, old])
    assert rotated.decrypt(sealed_with_old) == "refresh-1"
    moved = rotated.reencrypt(sealed_with_old)
    assert Cipher([new]).decrypt(moved) == "refresh-1"
    with pytest.raises(UndecryptableSecret):
        Cipher([old]).decrypt(moved)


def test_tampered_or_foreign_ciphertexts_are_refused() -> None:
    box = Cipher([Fernet.generate_key()])
    sealed = box.encrypt("secret")
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    for bad in (tampered, Cipher([Fernet.generate_key()]).encrypt("secret"), "not a token"):
        with pytest.raises(UndecryptableSecret):
            box.decrypt(bad)
        with pytest.raises(UndecryptableSecret):
            box.reencrypt(bad)


def test_malformed_keys_are_refused_at_start_naming_the_key() -> None:
    good = Fernet.generate_key().decode()
    with pytest.raises(ValidationError, match="STREAMPOOLS_TOKEN_KEYS: key 2 is not a Fernet"):
        Settings(token_keys=SecretStr(f"{good},not-a-key"))
    assert len(Settings(token_keys=SecretStr(f" {good} , {good}")).token_cipher_keys) == 2


def test_production_needs_its_own_keys_and_development_derives_one() -> None:
    secret = SecretStr("0123456789abcdef" * 4)
    with pytest.raises(ValidationError, match="STREAMPOOLS_TOKEN_KEYS"):
        Settings(env="production", jwt_secret=secret, token_keys=SecretStr(""))
    development = Settings(env="development", jwt_secret=secret, token_keys=SecretStr(""))
    (derived,) = development.token_cipher_keys
    # Stable across restarts (a laptop's stored tokens still open), and a working key.
    assert Settings(
        env="development", jwt_secret=secret, token_keys=SecretStr("")
    ).token_cipher_keys == (derived,)
    box = cipher(development.token_cipher_keys)
    assert box.decrypt(box.encrypt("x")) == "x"
