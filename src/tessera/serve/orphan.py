"""A worker process that outlives its supervisor must not keep serving: it exits.

Two mechanisms, because each alone has a gap:

- Linux's ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` makes the kernel send ``SIGTERM`` the moment
  the parent dies, however it dies (``kill -9`` too), and ``SIGTERM`` drains the worker like any
  shutdown. The kernel ties it to the parent *thread* that forked the child: the supervisor
  spawns from its main thread, which lives as long as it does. Set after the fork, it misses a
  parent that died before: hence the check of ``getppid()`` right after setting it.
- A daemon thread polls ``getppid()`` twice a second (other systems, or a signal that got
  lost): once the parent is gone it sends ``SIGTERM`` to its own process, and if the process is
  still there :data:`HARD_EXIT_AFTER` seconds later (a drain stuck on a client), it ends it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger("tessera.serve")

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5
HARD_EXIT_AFTER = 5.0


def exit_with_parent(parent_pid: int) -> None:
    """Arrange for this process to end soon after ``parent_pid`` (its parent) dies."""
    if sys.platform.startswith("linux"):
        _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # it died before we asked the kernel to tell us
        _orphaned(parent_pid)
        return
    threading.Thread(
        target=_watch, args=(parent_pid,), name="tessera-parent-watch", daemon=True
    ).start()


def _set_parent_death_signal(signum: int) -> None:
    libc_name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(libc_name, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    _orphaned(parent_pid)


def _orphaned(parent_pid: int) -> None:
    log.warning("supervisor %s is gone: this worker (%s) shuts down", parent_pid, os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)
    # The drain normally ends the process well before this; a stuck one does not keep the
    # port or its database connections.
    timer = threading.Timer(HARD_EXIT_AFTER, os._exit, args=(1,))
    timer.daemon = True
    timer.start()
