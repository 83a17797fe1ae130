"""The wasi:http/proxy executor (WASI 0.2 components): the host side of the proxy world.

- ``io``: wasi:io error/poll/streams
- ``http_types``: wasi:http/types (fields, requests, responses, bodies, outparam)
- ``outgoing``: wasi:http/outgoing-handler and outgoing requests, through the allow-list
- ``cli``: wasi:cli, clocks, random
- ``host_kv``: wasm-server:host kv and variables
- ``plan``: all of it as one ImportPlan
- ``executor``: the executor (``executor.WasiHttpExecutor``)
- ``detect``: component or core module, from the header

Importing the package is cheap; ``executor`` pulls in the ctypes bindings.
"""
