"""Local fakes of the providers the channels talk to: a threaded HTTP server that answers like
the generic SMS gateway, Twilio or WeChat, records every request, and can be told to fail."""

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class _Server(ThreadingHTTPServer):
    """A thread per request, and a listen backlog that holds every sending thread of every
    worker at once (socketserver's default of 5 resets the sixth connection, which the
    dispatcher rightly records as "unknown": the provider may have taken it)."""

    daemon_threads = True
    request_queue_size = 256


@dataclass
class FakeProvider:
    """answer(seen) -> (status, dict body); default answers like the generic SMS gateway."""

    answer: Callable[[Seen], tuple[int, dict]] | None = None
    delay: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def setup(self):
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and
                # the client's delayed ACK add ~40 ms to every answer (real gateways don't).
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlparse(self.path)
                seen = Seen(
                    self.command,
                    url.path,
                    {k: v[0] for k, v in parse_qs(url.query).items()},
                    dict(self.headers),
                    body,
                )
                with fake.lock:
                    fake.seen.append(seen)
                if fake.delay:
                    time.sleep(fake.delay)
                status, payload = (fake.answer or fake.sms_answer)(seen)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    @staticmethod
    def sms_answer(seen: Seen) -> tuple[int, dict]:
        return 200, {"id": "p-" + seen.headers.get("Idempotency-Key", "")}

    def keys(self) -> list[str]:
        with self.lock:
            return [s.headers.get("Idempotency-Key", "") for s in self.seen]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
