"""The load: wrk (Debian's package), a closed loop of connections, driven by Lua scripts.

Every script ends with :data:`LUA_DONE`, which prints wrk's figures as one ``BENCH_JSON`` line
(requests, duration, non-2xx, socket errors, p50/p95/p99 in µs): :func:`run` reads that line
rather than wrk's human summary. A new scenario writes its own ``request`` function and appends
:data:`LUA_DONE` (or uses :func:`get_script` for a plain GET).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.processes import Servers

LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,' ..
    '"socket_errors":%d,"p50":%d,"p95":%d,"p99":%d}\n', summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(95), latency:percentile(99)))
end
"""

# Each wrk thread numbers itself, so two threads never build the same email or key.
LUA_THREADS = r"""
local threads = 0
setup = function(thread) thread:set("tid", threads); threads = threads + 1 end
local counter = 0
"""


def create_script(key: str, targets: list[tuple[str, str]], nonce: str) -> str:
    """Create Attendee, each request unique (its own email and ``Idempotency-Key``), cycling
    over ``targets`` (event ID, ticket class ID)."""
    paths = ", ".join(f'{{"{e}", "{c}"}}' for e, c in targets)
    return (
        LUA_THREADS
        + f"""
local targets = {{{paths}}}
request = function()
  counter = counter + 1
  local t = targets[(counter % #targets) + 1]
  local id = "{nonce}-" .. tid .. "-" .. counter
  local body = '{{"ticket_class_id":"' .. t[2] .. '","contact":{{"email":"b' .. id ..
    '@example.com","first_name":"Bench","last_name":"Mark"}},"quantity":1,"send_email":false}}'
  return wrk.format("POST", "/api/v1/events/" .. t[1] .. "/attendees",
    {{["Content-Type"]="application/json", ["X-API-KEY"]="{key}", ["Idempotency-Key"]=id}}, body)
end
"""
        + LUA_DONE
    )


def replay_script(key: str, event_id: str, requests: list[tuple[str, str]]) -> str:
    """The same keyed creates over and over: ``requests`` are (Idempotency-Key, body) pairs
    already stored, so every request is answered from the stored outcome."""
    items = ", ".join(f"{{'{k}', '{b}'}}" for k, b in requests)
    return (
        LUA_THREADS
        + f"""
local items = {{{items}}}
request = function()
  counter = counter + 1
  local item = items[(counter % #items) + 1]
  return wrk.format("POST", "/api/v1/events/{event_id}/attendees",
    {{["Content-Type"]="application/json", ["X-API-KEY"]="{key}", ["Idempotency-Key"]=item[1]}},
    item[2])
end
"""
        + LUA_DONE
    )


def get_script(path: str, headers: dict[str, str]) -> str:
    """One GET of ``path``, again and again, with ``headers`` (an API key, a session cookie)."""
    fields = ", ".join(f'["{name}"]="{value}"' for name, value in headers.items())
    return (
        f"""
request = function()
  return wrk.format("GET", "{path}", {{{fields}}})
end
"""
        + LUA_DONE
    )


def run(port: int, script: str, duration: int, connections: int, workdir: Path) -> dict[str, Any]:
    """One wrk against one port: two threads, ``connections`` connections, a 5 s timeout."""
    path = workdir / f"script-{uuid.uuid4().hex[:8]}.lua"
    path.write_text(script)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "5s",
            "-s",
            str(path),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return data
    raise SystemExit(f"wrk failed:\n{out.stdout}\n{out.stderr}")


def drive(
    servers: Servers, scripts: list[str], duration: int, connections: int, workdir: Path
) -> dict[str, Any]:
    """Run one wrk per server port at once (connections split) and merge their figures."""
    ports = servers.ports
    if duration <= 0:
        return {
            "requests": 0,
            "duration_us": 1,
            "non2xx": 0,
            "socket_errors": 0,
            "p50": 0,
            "p95": 0,
            "p99": 0,
        }
    per = max(2, connections // len(ports))
    with ThreadPoolExecutor(len(ports)) as pool:
        futures = [
            pool.submit(run, port, script, duration, per, workdir)
            for port, script in zip(ports, scripts, strict=True)
        ]
        parts = [f.result() for f in futures]
    merged = {
        "requests": sum(p["requests"] for p in parts),
        "duration_us": max(p["duration_us"] for p in parts),
        "non2xx": sum(p["non2xx"] for p in parts),
        "socket_errors": sum(p["socket_errors"] for p in parts),
    }
    for q in ("p50", "p95", "p99"):  # conservative: the worse server's percentile
        merged[q] = max(p[q] for p in parts)
    return merged
