"""tessera.db.turns: units of a crowded row run one at a time, in arrival order; units of other
rows, and of rows that are not crowded, run meanwhile; a row nobody holds or awaits is
forgotten, whatever the unit raised."""

from __future__ import annotations

import asyncio

import pytest

from tessera.db import turns


@pytest.fixture(autouse=True)
def crowded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are crowded from their first unit, unless a test sets otherwise."""
    monkeypatch.setattr(turns, "CROWDED", 1)
    turns.forget()


def test_units_of_one_row_run_one_at_a_time_in_arrival_order() -> None:
    log: list[str] = []

    async def unit(name: str, row: str) -> None:
        async with turns.turn(row):
            log.append(f"{name} in")
            await asyncio.sleep(0.01)
            log.append(f"{name} out")

    async def main() -> None:
        await asyncio.gather(unit("a", "row"), unit("b", "row"), unit("c", "row"))

    asyncio.run(main())
    assert log == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert turns.waiting("row") == 0


def test_units_of_other_rows_do_not_wait() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        inside = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with turns.turn("hot"):
                inside.set()
                await release.wait()

        task = asyncio.create_task(holder())
        await inside.wait()
        async with turns.turn("cold"):
            log.append("cold ran while hot was held")
        assert turns.waiting("hot") == 1
        release.set()
        await task
        return log

    assert asyncio.run(main()) == ["cold ran while hot was held"]
    assert turns.waiting("hot") == 0 and turns.waiting("cold") == 0


def test_a_unit_that_raises_gives_its_turn_up() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError):
            async with turns.turn("row"):
                raise RuntimeError("the unit failed")
        async with turns.turn("row"):  # not left locked
            pass

    asyncio.run(asyncio.wait_for(main(), 5))
    assert turns.waiting("row") == 0


def test_a_row_is_crowded_by_the_units_started_within_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(turns, "CROWDED", 3)
    clock = [100.0]
    monkeypatch.setattr(turns, "clock", lambda: clock[0])
    assert [turns._crowded("row") for _ in range(3)] == [False, False, True]
    assert turns._crowded("other") is False  # counted per row
    clock[0] += turns.WINDOW_SECONDS  # the next window: the last one's count still holds
    assert turns._crowded("row") is True
    clock[0] += 3 * turns.WINDOW_SECONDS  # quiet since: starts afresh
    assert turns._crowded("row") is False


def test_units_of_a_row_that_is_not_crowded_run_as_they_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(turns, "CROWDED", 100)
    log: list[str] = []

    async def unit(name: str) -> None:
        async with turns.turn("row"):
            log.append(f"{name} in")
            await asyncio.sleep(0.01)
            log.append(f"{name} out")

    async def main() -> None:
        await asyncio.gather(unit("a"), unit("b"))

    asyncio.run(main())
    assert log == ["a in", "b in", "a out", "b out"]
    assert turns.waiting("row") == 0


def test_a_unit_cancelled_while_waiting_leaves_the_line() -> None:
    async def main() -> None:
        inside = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with turns.turn("row"):
                inside.set()
                await release.wait()

        async def waiter() -> None:
            async with turns.turn("row"):
                raise AssertionError("a cancelled unit must not run")

        held = asyncio.create_task(holder())
        await inside.wait()
        queued = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        assert turns.waiting("row") == 2
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert turns.waiting("row") == 1
        release.set()
        await held

    asyncio.run(asyncio.wait_for(main(), 5))
    assert turns.waiting("row") == 0


def test_no_row_means_no_turn() -> None:
    """Units that name no row (SQLite, or work on no contended row) run at once."""

    async def main() -> list[str]:
        log: list[str] = []

        async def unit(name: str) -> None:
            async with turns.turn(None):
                log.append(f"{name} in")
                await asyncio.sleep(0.01)
                log.append(f"{name} out")

        await asyncio.gather(unit("a"), unit("b"))
        return log

    assert asyncio.run(main()) == ["a in", "b in", "a out", "b out"]
