"""A process's copies of things rendered from the database, kept in step with the events that
change them: each key counts the changes heard (its generation); a change may also drop the
copy. A render runs once per key and generation however many ask for it, and keeps its result
unless a drop was heard while it ran (it may have read the state from before the change)."""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class Copy(Generic[V]):
    value: V
    rendered_at: float
    #: The key's generation when the render began: behind the key's own, the copy is stale.
    generation: int

    @property
    def age(self) -> float:
        return time.monotonic() - self.rendered_at


class Copies(Generic[V]):
    def __init__(self, max_items: int) -> None:
        self._max_items = max_items
        self._copies: OrderedDict[int, Copy[V]] = OrderedDict()
        self._generations: dict[int, int] = {}
        self._dropped: dict[int, int] = {}
        self._renders: dict[tuple[int, int], asyncio.Future[Copy[V]]] = {}

    def generation(self, key: int) -> int:
        return self._generations.get(key, 0)

    def rendering(self, key: int) -> bool:
        return (key, self.generation(key)) in self._renders

    def changed(self, key: int, *, drop: bool) -> None:
        """A change of ``key`` was heard: its copy is stale, or with ``drop`` gone."""
        if key in self._copies or any(rendering == key for rendering, _ in self._renders):
            self._generations[key] = self.generation(key) + 1
            if drop:
                self._dropped[key] = self._generations[key]
                self._copies.pop(key, None)

    def get(self, key: int) -> Copy[V] | None:
        copy = self._copies.get(key)
        if copy is not None:
            self._copies.move_to_end(key)
        return copy

    def current(self, key: int, copy: Copy[V]) -> bool:
        """Whether no change of ``key`` was heard since the copy's render began."""
        return copy.generation == self.generation(key)

    async def render(self, key: int, make: Callable[[], Awaitable[V]]) -> Copy[V]:
        """``make()``'s value as a copy, shared by every caller of this key and generation."""
        generation = self.generation(key)
        if (running := self._renders.get((key, generation))) is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Copy[V]] = asyncio.get_running_loop().create_future()
        self._renders[key, generation] = future
        try:
            copy = Copy(await make(), time.monotonic(), generation)
            if self._dropped.get(key, -1) <= generation:
                self._copies[key] = copy
                self._copies.move_to_end(key)
                while len(self._copies) > self._max_items:
                    gone, _ = self._copies.popitem(last=False)
                    self._generations.pop(gone, None)
                    self._dropped.pop(gone, None)
            future.set_result(copy)
            return copy
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody else must
            raise
        finally:
            del self._renders[key, generation]
