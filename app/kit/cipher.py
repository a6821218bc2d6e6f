"""Platform tokens encrypted at rest: Fernet with a key list, the first key encrypts, every key
decrypts, so keys rotate without a flag day (add a new key first, re-encrypt, drop the old)."""

import base64
import hashlib
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class UndecryptableSecret(Exception):
    """The ciphertext was tampered with, or none of the configured keys encrypted it."""


def parse_keys(text: str) -> list[bytes]:
    """Comma-separated Fernet keys; ValueError naming the position of a malformed one."""
    keys = [part.strip().encode() for part in text.split(",") if part.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as error:
            raise ValueError(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes; make"
                " one with `python -c 'from cryptography.fernet import Fernet;"
                " print(Fernet.generate_key().decode())'`)"
            ) from error
    return keys


def derived_key(secret: str) -> bytes:
    """A Fernet key derived from another secret: for development and tests only, so a laptop
    needs no extra setting and its encrypted tokens survive a restart."""
    digest = hashlib.sha256(b"streampools platform tokens\x00" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class Cipher:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise UndecryptableSecret() from error

    def reencrypt(self, ciphertext: str) -> str:
        """The same plaintext under the first key (rotation); refuses what no key opens."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise UndecryptableSecret() from error


@lru_cache(maxsize=4)
def cipher(keys: tuple[bytes, ...]) -> Cipher:
    """The process's cipher for these keys (``Settings.token_cipher_keys``)."""
    return Cipher(keys)
