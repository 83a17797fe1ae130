"""WAGI executor: any WASI command (``_start``) as a CGI handler, as deislabs/wagi does.

The request arrives as CGI environment variables with the body on stdin; the
program prints headers, a blank line and the body on stdout. ``Status:`` sets
the status, ``Location:`` without ``Status:`` means 302. stderr goes to the
server log, bounded per request like a native guest's output (capabilities/stdio.py).
"""

from __future__ import annotations

import time
from urllib.parse import unquote

from ..abi_codec import GuestRequest, GuestResponse
from ..capabilities import ComponentHost
from ..engine import GuestInstance, Limits, LoadedModule, Runtime, WasiContext
from ..errors import BadResponse, GuestError, LoadError
from ..protocol.response import ResponseSink


def cgi_environment(req: GuestRequest, server_name: str, server_port: str) -> dict[str, str]:
    """The CGI/1.1 variables (plus WAGI's X_* extras) for one request."""
    url = req.url.decode("latin-1")
    query = url.partition("?")[2]
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in req.headers}
    client = req.client.decode()
    addr = client.rsplit(":", 1)[0].strip("[]") if client else ""
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "wasm-server",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "REQUEST_METHOD": req.method.decode(),
        "SCRIPT_NAME": req.base.decode("latin-1"),
        "PATH_INFO": unquote(req.path_info.decode("latin-1")),
        "X_RAW_PATH_INFO": req.path_info.decode("latin-1"),
        "PATH_TRANSLATED": unquote(req.path_info.decode("latin-1")),
        "QUERY_STRING": query,
        "REMOTE_ADDR": addr,
        "REMOTE_HOST": addr,
        "REMOTE_USER": "",
        "AUTH_TYPE": "",
        "CONTENT_LENGTH": str(len(req.body)),
        "CONTENT_TYPE": headers.get("content-type", ""),
        "X_MATCHED_ROUTE": req.route.decode("latin-1"),
        "X_FULL_URL": f"http://{headers.get('host', server_name)}{url}",
    }
    for name, value in headers.items():
        key = "HTTP_" + name.upper().replace("-", "_")
        if key not in ("HTTP_AUTHORIZATION", "HTTP_CONNECTION"):
            env[key] = value
    for pname, pvalue in req.params:
        env[f"X_PARAM_{pname.decode().upper()}"] = pvalue.decode("latin-1")
    return env


def parse_cgi_output(out: bytes) -> GuestResponse:
    """Split CGI output into status, headers and body."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = out.partition(sep)
        if found:
            break
    else:
        raise BadResponse("no blank line between the CGI headers and the body")
    status = 200
    headers: list[tuple[bytes, bytes]] = []
    has_location = has_status = False
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            raise BadResponse(f"malformed CGI header line {line[:80]!r}")
        name, value = name.strip(), value.strip()
        low = name.lower()
        if low == b"status":
            code = value.split(b" ", 1)[0]
            if not code.isdigit() or not 100 <= int(code) <= 999:
                raise BadResponse(f"bad CGI Status {value[:40]!r}")
            status, has_status = int(code), True
            continue
        if low == b"location":
            has_location = True
        headers.append((name, value))
    if has_location and not has_status:
        status = 302
    return GuestResponse(status, headers, body)


class WagiExecutor:
    """Runs a WASI command once per request, CGI style."""

    def __init__(
        self,
        runtime: Runtime,
        loaded: LoadedModule,
        host: ComponentHost,
        limits: Limits,
        server_name: str = "127.0.0.1",
        server_port: str = "8080",
    ) -> None:
        self.name = host.name
        self.runtime = runtime
        self.loaded = loaded
        self.host = host
        self.limits = limits
        self.server_name = server_name
        self.server_port = server_port

    async def check(self) -> None:
        """A WAGI module must be a WASI command exporting ``_start``."""
        if "_start" not in self.loaded.exports:
            raise LoadError(f"{self.loaded.origin}: abi = \"wagi\" needs a WASI command exporting _start")

    def _wasi(self, req: GuestRequest) -> WasiContext:
        env = cgi_environment(req, self.server_name, self.server_port)
        query = env["QUERY_STRING"]
        return WasiContext(
            preopens=self.host.wasi.preopens,
            argv=(self.name, *(unquote(q) for q in query.split("&") if q)),
            env=tuple(env.items()),
            stdin=req.body,
        )

    async def handle(self, request: GuestRequest, sink: ResponseSink | None = None) -> GuestResponse:
        """Run the program for one request and parse what it printed (``sink`` is unused:
        a CGI response is complete when the program exits)."""
        deadline = time.monotonic() + self.limits.timeout
        call = self.host.new_call()
        out = call.stdout = bytearray()  # stdout is the CGI response; stderr goes to the log
        call.begin_request(request.headers, None)
        inst = await GuestInstance.create(
            self.runtime, self.loaded, call, self.limits, self._wasi(request), deadline
        )
        try:
            status = await inst.run_start(deadline)
        finally:
            inst.release()
        if status != 0:
            raise GuestError(f"WAGI program exited with status {status}")
        return parse_cgi_output(bytes(out))
