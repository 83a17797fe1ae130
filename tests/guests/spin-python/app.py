"""A component built for Spin, not for wasm-server (issue 14, "a component built for another
platform runs unchanged"): plain componentize-py bindings of ``wasi:http/proxy@0.2.6`` taken
from the PyPI ``spin-sdk`` package's WIT, nothing of wasm-server's SDK or WIT.

Built by tests/sdk/test_wasi_http_guests.py::spin_component as
``componentize-py -d <spin_sdk>/wit -w wasi:http/proxy@0.2.6 componentize app``. It reads
Spin's routing headers (``spin-path-info``, ``spin-full-url``) the way Spin apps do.

Any request → 200 ``text/plain``: ``Hello from a Spin component\\npath: <path-info>\\nbody: <n> bytes\\n``.
"""

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.types import (
    Fields,
    IncomingBody,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)


def _body_length(request: IncomingRequest) -> int:
    body = request.consume()
    size = 0
    with body.stream() as stream:
        while True:
            try:
                size += len(stream.blocking_read(65536))
            except Err as e:
                if isinstance(e.value, StreamError_Closed):
                    break
                raise
    IncomingBody.finish(body)
    return size


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        with request.headers() as fields:
            headers = {k.lower(): v.decode() for k, v in fields.entries()}
        path = headers.get("spin-path-info") or (request.path_with_query() or "/").split("?", 1)[0]
        text = f"Hello from a Spin component\npath: {path}\nbody: {_body_length(request)} bytes\n".encode()
        response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain")]))
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        with body.write() as stream:
            stream.blocking_write_and_flush(text)
        OutgoingBody.finish(body, None)
