"""app.kit.copies: one render per key and generation, and no copy kept from before a drop."""

import asyncio
from collections.abc import Awaitable, Callable

from app.kit.copies import Copies


async def test_callers_share_one_render_and_its_copy() -> None:
    copies: Copies[int] = Copies(max_items=10)
    renders = 0
    gate = asyncio.Event()

    async def make() -> int:
        nonlocal renders
        renders += 1
        await gate.wait()
        return 42

    waiting = [asyncio.ensure_future(copies.render(1, make)) for _ in range(5)]
    await asyncio.sleep(0)
    assert copies.rendering(1)
    gate.set()
    assert {copy.value for copy in await asyncio.gather(*waiting)} == {42}
    assert renders == 1
    kept = copies.get(1)
    assert kept is not None and copies.current(1, kept)


async def test_a_change_makes_a_copy_stale_and_a_drop_keeps_no_copy_of_the_past() -> None:
    copies: Copies[str] = Copies(max_items=10)

    async def value(text: str) -> str:
        return text

    await copies.render(1, lambda: value("before"))
    copies.changed(1, drop=False)
    stale = copies.get(1)
    assert stale is not None and not copies.current(1, stale)

    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "read before the change"

    rendering = asyncio.ensure_future(copies.render(1, slow))
    await asyncio.sleep(0)
    copies.changed(1, drop=True)
    gate.set()
    assert (await rendering).value == "read before the change"
    assert copies.get(1) is None  # what was read before the drop is not kept
    copies.changed(2, drop=True)  # never rendered: nothing is tracked for it
    assert copies.generation(2) == 0


async def test_the_least_recently_read_copies_go_first() -> None:
    copies: Copies[int] = Copies(max_items=2)

    def value(number: int) -> Callable[[], Awaitable[int]]:
        async def make() -> int:
            return number

        return make

    for key in (1, 2):
        await copies.render(key, value(key))
    assert copies.get(1) is not None
    await copies.render(3, value(3))
    assert copies.get(2) is None and copies.get(1) is not None and copies.get(3) is not None
