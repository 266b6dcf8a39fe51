"""The soak (``--soak N``): Create Attendee on SQLite until N requests have been served, with
the server's RSS read after every minute of load. The goal is a flat line under 150 MB."""

from __future__ import annotations

import json
from pathlib import Path

from bench.databases import counters_match
from bench.harness import prepared
from bench.processes import rss_mb, running
from bench.profiles import Profile
from bench.report import log
from bench.wrk import create_script, drive


def run_soak(total: int, profile: Profile, workdir: Path) -> int:
    """Prints a ``BENCH_SOAK`` JSON line (creates, errors, RSS per minute); 1 on any error or
    counter mismatch."""
    served, errors, samples = 0, 0, []
    minute = 1 if profile.name == "smoke" else 60  # the smoke run's "minutes" are seconds
    with prepared("sqlite", profile, workdir, spread=1) as setup:
        pop = setup.population
        with running(setup.servers()) as servers:
            chunk = 0
            while served < total:
                script = create_script(
                    setup.secret, [(pop.hot_event_id, pop.hot_class_id)], f"s{chunk}"
                )
                figures = drive(servers, [script], minute, profile.connections, workdir)
                served += figures["requests"]
                errors += figures["non2xx"] + figures["socket_errors"]
                rss = max(rss_mb(pid) for pid in servers.worker_pids())
                samples.append(round(rss, 1))
                log(
                    f"  soak: {served:,}/{total:,} creates, "
                    f"{figures['requests'] / minute:,.0f} req/s, RSS {rss:.1f} MB"
                )
                chunk += 1
        verified = counters_match(setup.url)
    log(
        f"soak: {served:,} creates, {errors} errors, RSS per minute (MB): {samples}, "
        f"counters {'OK' if verified else 'MISMATCH'}"
    )
    print("BENCH_SOAK " + json.dumps({"creates": served, "errors": errors, "rss_mb": samples}))
    return 0 if verified and not errors else 1
