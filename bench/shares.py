"""The goals that are shares of a bound measured in the same run (issue 20, "the request path"):
Tessera's create beside the SQLite ceiling, its replay beside the bare replay, PostgreSQL's
served create beside its floor, and the list's rate. Absolute rates move with this shared
machine; a share of a bound that ran minutes earlier on the same cores moves much less.

:func:`evaluate` reads the run's results and gives one :class:`Verdict` per goal whose
scenarios ran; ``make bench`` prints them at the end and writes them under RESULTS.md's table.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.report import Result, log


@dataclass(frozen=True)
class Verdict:
    goal: str  # as the issue states it
    measured: str  # what this run measured, in the goal's terms
    met: bool | None  # None: not a verdict of this run (``instead`` says what it is)
    instead: str = ""


def _find(results: list[Result], database: str, scenario: str) -> Result | None:
    runs = [
        r
        for r in results
        if r.database == database and r.scenario == scenario and r.server == "uvicorn"
    ]
    return runs[-1] if runs else None


def _share(
    results: list[Result],
    goal: str,
    database: str,
    served: str,
    bound: str,
    least: float | None,
) -> Verdict | None:
    """``served``'s rate as a share of ``bound``'s; a goal when ``least`` is given. The p99s
    are shown where the bound has one (the floors, replayed without HTTP, have none)."""
    mine, theirs = _find(results, database, served), _find(results, database, bound)
    if mine is None or theirs is None or not theirs.rps:
        return None
    share = mine.rps / theirs.rps
    measured = f"{share:.0%} ({mine.rps:,.0f} of {theirs.rps:,.0f} /s"
    if theirs.p99_ms:
        measured += f"; p99 {mine.p99_ms:.1f} ms against the bound's {theirs.p99_ms:.1f} ms"
    return Verdict(
        goal,
        measured + ")",
        None if least is None else share >= least,
        "" if least is not None else "a bound, not a goal",
    )


def evaluate(results: list[Result]) -> list[Verdict]:
    """Issue 20's goals, for those whose scenarios this run measured."""
    verdicts = [
        _share(
            results,
            "SQLite Create Attendee ≥ 70 % of the ceiling's rate",
            "sqlite",
            "create-hot",
            "create-ceiling",
            0.70,
        ),
        _share(
            results,
            "Idempotent replay ≥ 80 % of the bare replay's rate",
            "sqlite",
            "replay",
            "replay-ceiling",
            0.80,
        ),
        _share(
            results,
            "(bound) uvicorn and one ASGI call, no Tessera code: its share of the bare replay",
            "sqlite",
            "replay-asgi-ceiling",
            "replay-ceiling",
            None,
        ),
        _share(
            results,
            "PostgreSQL create (2 processes, 64 classes) ≥ 80 % of the floor's rate",
            "postgresql",
            "create-spread",
            "create-floor-spread",
            0.80,
        ),
    ]
    listed = _find(results, "sqlite", "list")
    if listed is not None:
        verdicts.append(
            Verdict(
                "List attendees (50 a page, 100,000 in the event) ≥ 1,500 req/s, p99 ≤ 50 ms,"
                " SQLite",
                f"{listed.rps:,.0f} req/s, p99 {listed.p99_ms:.1f} ms",
                listed.rps >= 1_500 and listed.p99_ms <= 50,
            )
        )
    floor = _find(results, "postgresql", "create-floor-spread")
    if floor is not None and floor.database_cpu_us_per_request:
        verdicts.append(
            Verdict(
                "PostgreSQL's own CPU per create (the spread floor's) down a third",
                f"{floor.database_cpu_us_per_request:,.0f} µs (when filed: 1,617 µs on"
                " 2026-12-01, 795 µs on 2026-12-04, other days of this machine)",
                None,
                "compare builds in pairs",
            )
        )
    return [v for v in verdicts if v is not None]


def _word(verdict: Verdict) -> str:
    return verdict.instead if verdict.met is None else ("met" if verdict.met else "NOT met")


def log_verdicts(verdicts: list[Verdict]) -> None:
    if not verdicts:
        return
    log("\n== the request path's goals (issue 20), as shares measured in this run")
    for verdict in verdicts:
        log(f"   {verdict.goal}: {verdict.measured}: {_word(verdict)}")


def markdown(verdicts: list[Verdict]) -> str:
    """RESULTS.md's section of the goals, below its table."""
    if not verdicts:
        return ""
    rows = [
        "\n## The request path's goals (issue 20), as shares measured in this run\n",
        "| goal | this run | met |",
        "|---|---|---|",
    ]
    rows += [f"| {v.goal} | {v.measured} | {_word(v)} |" for v in verdicts]
    return "\n".join(rows) + "\n"
