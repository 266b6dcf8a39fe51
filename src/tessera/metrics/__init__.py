"""Prometheus metrics (``TESSERA_METRICS=true``): what each process counts, and ``GET /metrics``.

Counting goes through :mod:`.record`, whose functions do nothing until :func:`.record.enable`
ran (the app does when metrics are on): disabled, a request pays one ``is None`` test at the
edge and the domain code one global read. The figures of every process are kept in
prometheus_client's multiprocess files (``tessera serve`` gives its processes one fresh
directory), so whichever process answers ``/metrics`` reports the sum over all of them.
"""
