"""HTTP calls of the provider channels, with the one classification every channel needs: was
the request certainly not taken (retry), refused (never), or maybe taken (unknown)?"""

import requests
from requests.adapters import HTTPAdapter

from messaging.channels.base import PermanentError, TransientError, UnknownOutcome

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
_session: requests.Session | None = None


def session() -> requests.Session:
    """One pooled session per process, with no automatic retries (a retry after the request
    went out could send a message twice)."""
    global _session
    if _session is None:
        _session = requests.Session()
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)
        _session.mount("http://", adapter)
        _session.mount("https://", adapter)
    return _session


def _not_sent(exc: requests.ConnectionError) -> bool:
    """A connection that never opened: refused, unreachable, no DNS, connect timeout."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError"))


def call(method: str, url: str, **kwargs) -> requests.Response:
    """The response of a call that the provider answered with 2xx or 4xx; raises the channel
    errors otherwise (429 and 503 transient; other 5xx unknown; a 4xx is the caller's to read)."""
    try:
        response = session().request(method, url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs)
    except requests.ConnectionError as exc:
        if _not_sent(exc):
            raise TransientError(f"cannot connect: {exc.__class__.__name__}") from exc
        raise UnknownOutcome(f"connection lost: {exc.__class__.__name__}") from exc
    except requests.Timeout as exc:
        raise UnknownOutcome("no answer in time") from exc
    except requests.RequestException as exc:
        raise UnknownOutcome(f"{exc.__class__.__name__}: {exc}") from exc
    if response.status_code in (429, 503):
        raise TransientError(f"HTTP {response.status_code}")
    if response.status_code >= 500:
        raise UnknownOutcome(f"HTTP {response.status_code}")
    return response


def refuse(response: requests.Response) -> PermanentError:
    return PermanentError(f"HTTP {response.status_code}: {response.text[:200]}")
