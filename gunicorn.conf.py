"""gunicorn's settings beyond its command line (the Dockerfile's CMD, which docker-compose.yml and
CI run): gunicorn reads ./gunicorn.conf.py from the directory it starts in (/app in the image).

- Metrics (docs/operations.md, "Observability"): every worker process keeps its own counters, so
  prometheus_client's multiprocess mode is on: PROMETHEUS_MULTIPROC_DIR (docker-compose sets it;
  a private temporary directory when it is not set) is cleared when gunicorn starts, each worker
  writes its values there, `/metrics` adds them up, and a worker that exits is marked dead.
- The access log: the path without its query string (the header search sends phone numbers and
  names there), signed link tokens masked as in the application's own lines, no referrer (its
  query string), the duration and the request id that finds the request's other lines.
"""

import os
import shutil
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

_OWN_DIR = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Set in the master, before the workers start: they inherit it. Removed when gunicorn exits.
    _OWN_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="salon-metrics-")

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s" %({x-request-id}o)s'


def _masked(path: str) -> str:
    """Django's signed values read 'payload:signature' (salon_crm.logs.request_line)."""
    return "/".join("<token>" if ":" in part else part for part in path.split("/"))


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = _masked(atoms["U"] or "")
        return atoms


logger_class = AccessLogger


def on_starting(server):
    """Values left by an earlier run would be added to this one's: remove prometheus_client's
    files (<kind>_<pid>.db; nothing else, whatever the directory is)."""
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_DIR:
        shutil.rmtree(_OWN_DIR, ignore_errors=True)
