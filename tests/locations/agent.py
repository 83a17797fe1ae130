"""A client that lives in one location: run inside its network namespace, it takes requests
as JSON lines on stdin and answers each with one JSON line on stdout.

    {"method": "PUT", "url": "http://10.77.1.1:8080/kv/x", "body": "1"}
    -> {"status": 200, "body": "...", "ms": 1.9}      (or {"error": "ConnectionRefusedError: ..."})

Connections are kept alive per host:port (as a browser in that location would), so "ms"
is the request's round trip, not a TCP handshake each time.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.parse


def main() -> None:
    """Serve stdin until it closes."""
    connections: dict[str, http.client.HTTPConnection] = {}
    for line in sys.stdin:
        ask = json.loads(line)
        url = urllib.parse.urlsplit(ask["url"])
        body = ask.get("body")
        started = time.perf_counter()
        try:
            conn = connections.get(url.netloc)
            if conn is None:
                conn = connections[url.netloc] = http.client.HTTPConnection(url.netloc, timeout=ask.get("timeout", 10))
            path = url.path + (f"?{url.query}" if url.query else "")
            try:
                conn.request(ask.get("method", "GET"), path, body=None if body is None else body.encode())
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()  # a kept-alive connection the server closed meanwhile: once more, fresh
                conn.request(ask.get("method", "GET"), path, body=None if body is None else body.encode())
                response = conn.getresponse()
            text = response.read().decode(errors="replace")
            answer: dict[str, object] = {"status": response.status, "body": text,
                                         "ms": (time.perf_counter() - started) * 1000}
        except (OSError, http.client.HTTPException) as exc:
            connections.pop(url.netloc, None)
            answer = {"error": f"{type(exc).__name__}: {exc}", "ms": (time.perf_counter() - started) * 1000}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
