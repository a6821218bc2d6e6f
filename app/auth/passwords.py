"""Password hashing with argon2id; parameters come from settings and old hashes are upgraded."""

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# Checked against when the account does not exist, so a wrong email costs as much time as a
# wrong password and the response time says nothing about which one it was.
_DUMMY_PASSWORD = "not-a-real-password-just-for-timing"  # noqa: S105


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
