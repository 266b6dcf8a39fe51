"""Running Tessera's server processes: ``tessera serve`` with one process or a supervisor over
several (:mod:`.supervisor`), each running the HTTP server (:mod:`.worker`)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile


def serve(host: str, port: int, workers: int, *, metrics: bool) -> int:
    """Serve until SIGTERM or SIGINT, then drain; returns the exit code."""
    # Imported here: ``python -m tessera.serve.worker`` imports this package first.
    from tessera.serve import worker
    from tessera.serve.supervisor import Supervisor, bind

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if workers > 1:
        return Supervisor(host, port, workers, metrics=metrics).run()
    metrics_dir = None
    if metrics:
        # One process keeps Prometheus's multiprocess files too: one way of counting, whatever
        # the number of processes. Set before the app (and prometheus_client) is imported.
        metrics_dir = tempfile.mkdtemp(prefix="tessera-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        sock = bind(host, port)
        worker.run(sock)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
