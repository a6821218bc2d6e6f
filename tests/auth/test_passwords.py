"""Password hashing runs beside the event loop, a bounded number at a time."""

import asyncio
import time

from argon2 import PasswordHasher, Type

from app.auth.errors import PasswordChecksBusy
from app.auth.passwords import Passwords
from app.kit.resources import Resources
from app.kit.uow import read_session, unit_of_work
from app.settings import Settings
from app.user.repository import user_repository
from tests.auth.conftest import ServeApp
from tests.factories import DEFAULT_PASSWORD, create_user, unique_email

# Slow enough per hash that a loop which waits for one is plainly seen to stall.
SLOW = {"argon2_time_cost": 30, "argon2_memory_kib": 19456, "argon2_parallelism": 1}


async def test_sign_ups_being_hashed_leave_the_event_loop_free(serve_app: ServeApp) -> None:
    # What one hash costs on this machine now (it varies with the load of the machine).
    hasher = PasswordHasher(time_cost=30, memory_cost=19456, parallelism=1, type=Type.ID)
    started = time.perf_counter()
    await asyncio.to_thread(hasher.hash, DEFAULT_PASSWORD)
    one_hash = time.perf_counter() - started

    async with serve_app(**SLOW, password_hash_concurrency=1) as client:
        gaps: list[float] = []
        stop = asyncio.Event()

        async def heartbeat() -> None:
            # The server, the clients and this task share one event loop: a hash run on it
            # delays the next beat by the whole hash.
            while not stop.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                gaps.append(time.perf_counter() - before)

        beating = asyncio.create_task(heartbeat())
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/auth/register",
                    json={
                        "email": unique_email(),
                        "password": DEFAULT_PASSWORD,
                        "display_name": "Patient",
                    },
                )
                for _ in range(3)
            )
        )
        stop.set()
        await beating

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert max(gaps) < one_hash / 2, (max(gaps), one_hash)


async def test_calls_beyond_the_running_and_the_queued_are_refused_at_once() -> None:
    passwords = Passwords(time_cost=10, memory_kib=19456, parallelism=1, concurrency=1, queue_max=1)
    results = await asyncio.gather(
        *(passwords.hash(DEFAULT_PASSWORD) for _ in range(3)), return_exceptions=True
    )
    assert isinstance(results[0], str) and isinstance(results[1], str)
    assert isinstance(results[2], PasswordChecksBusy)
    assert results[2].status == 503 and results[2].headers["Retry-After"] == "1"
    # Once the queue drained, calls are admitted again.
    assert await passwords.verify(results[0], DEFAULT_PASSWORD)


async def test_verify_answers_false_for_a_wrong_password_or_no_account() -> None:
    passwords = Passwords(time_cost=2, memory_kib=19456, parallelism=1)
    stored = await passwords.hash(DEFAULT_PASSWORD)
    assert await passwords.verify(stored, DEFAULT_PASSWORD)
    assert not await passwords.verify(stored, "not the password")
    assert not await passwords.verify(None, DEFAULT_PASSWORD)
    assert not await passwords.verify("not-a-hash", DEFAULT_PASSWORD)


async def test_a_hash_made_with_older_parameters_is_upgraded_at_sign_in(
    serve_app: ServeApp, resources: Resources, settings: Settings
) -> None:
    email = unique_email()
    async with unit_of_work(resources) as session:
        await create_user(session, settings, email=email)
    async with serve_app(argon2_time_cost=settings.argon2_time_cost + 1) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 200
    async with read_session(resources) as session:
        user = await user_repository.get_by_email(session, email)
        stored = user.password_hash if user else None
    assert stored is not None and f",t={settings.argon2_time_cost + 1}," in stored
