"""A scripted HTTP server on 127.0.0.1 for download tests: no test reaches the network.

Each path plays back queued replies (status, headers, body, optional delay or truncation); a
reply may also be a function of the query string.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    """One scripted response. ``truncate`` announces 100 more bytes than it sends."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False


Query = dict[str, list[str]]
Script = Reply | Callable[[Query], Reply]


class ScriptedServer:
    """Serve queued replies per path; the last reply of a queue is repeated forever."""

    def __init__(self) -> None:
        self.scripts: dict[str, deque[Script]] = {}
        self.requests: list[tuple[str, Query]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                reply = owner.next_reply(parts.path, query)
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    extra = 100 if reply.truncate else 0
                    self.send_header("Content-Length", str(len(reply.body) + extra))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except OSError:  # the client timed out and hung up
                    pass
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    def script(self, path: str, *replies: Script) -> str:
        """Queue ``replies`` for ``path`` and return its URL."""
        self.scripts[path] = deque(replies)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def next_reply(self, path: str, query: Query) -> Reply:
        with self._lock:
            self.requests.append((path, query))
            queue = self.scripts.get(path)
            if not queue:
                return Reply(599, b"no script for " + path.encode())
            script = queue.popleft() if len(queue) > 1 else queue[0]
        return script(query) if callable(script) else script

    def count(self, path: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == path)


@contextlib.contextmanager
def running_server() -> Iterator[ScriptedServer]:
    """A started server, shut down on exit; wrap it in a test module's ``server`` fixture."""
    scripted = ScriptedServer()
    scripted.thread.start()
    try:
        yield scripted
    finally:
        scripted.httpd.shutdown()
        scripted.httpd.server_close()
