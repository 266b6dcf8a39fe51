"""tessera.db.turns: units naming one row run one at a time, in arrival order; units of other
rows run meanwhile; a row nobody holds or awaits is forgotten, whatever the unit raised."""

from __future__ import annotations

import asyncio

import pytest

from tessera.db import turns


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
