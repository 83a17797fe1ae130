# wasm-server: one stateless node. Build: docker build -t wasm-server .
# Run a cluster node (apps arrive through the admin API; state lives in Redis):
#   docker run -e WASM_SERVER_ADMIN_TOKEN=... -v ./runtime.toml:/etc/wasm-server/runtime.toml wasm-server
FROM python:3.11-slim

RUN groupadd --system wasm && useradd --system --gid wasm --home-dir /var/lib/wasm-server wasm \
    && mkdir -p /var/lib/wasm-server /var/cache/wasm-server /etc/wasm-server \
    && chown wasm:wasm /var/lib/wasm-server /var/cache/wasm-server

WORKDIR /opt/wasm-server
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY wasm_server ./wasm_server
COPY sdk ./sdk
RUN pip install --no-cache-dir .

USER wasm
ENV WASM_SERVER_DATA_DIR=/var/lib/wasm-server \
    WASM_SERVER_CACHE_DIR=/var/cache/wasm-server \
    XDG_CACHE_HOME=/var/cache/wasm-server
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9090/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["wasm-server"]
CMD ["up", "--listen", "0.0.0.0:8080", "--admin", "0.0.0.0:9090", "--config", "/etc/wasm-server/runtime.toml"]
