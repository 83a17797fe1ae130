"""The control plane of one server: named deployments, the admin API listener,
and (in cluster mode) the registry shared through Redis or Cassandra."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from ..admin import AdminApi, RecentLogs, admin_token
from ..app import App
from ..config import RuntimeConfig
from ..deployments import Deployments, Loader
from ..errors import WasmServerError
from ..manifest import AppSpec
from ..net.http import ConnectionLimits, HttpServer

log = logging.getLogger("wasm_server")
#: the admin API's request body limit: a deployment's JSON carries its modules in base64
ADMIN_MAX_BODY = 128 * 1024 * 1024


class ControlPlane:
    """What ``up --admin`` / ``up --cluster`` add to a server."""

    def __init__(self, deployments: Deployments, server: HttpServer) -> None:
        self.deployments = deployments
        self.server = server
        self.admin_server: HttpServer | None = None
        self.cluster: object | None = None
        self.lines: list[str] = []
        self.command_line: str | None = None

    @classmethod
    async def start(cls, config: RuntimeConfig, data_dir: Path, server: HttpServer, load: Loader,
                    spec: AppSpec | None, app: App | None) -> ControlPlane:
        """Route ``server`` through named deployments, restore or sync them, open the admin listener."""
        deployments = Deployments(data_dir / "apps", load)
        plane = cls(deployments, server)
        if spec is not None and app is not None:
            plane.command_line = spec.name
            deployments.add_running(spec.name, app, "command line")
        server.switch(deployments)
        node = f"{socket.gethostname()}:{os.getpid()}"
        publish = remove = None
        if config.clustered:
            from ..cluster import Cluster, registry_for

            cluster = Cluster(registry_for(config), deployments, node)
            await cluster.start()
            plane.cluster = cluster
            publish, remove = cluster.publish, cluster.remove
            plane.lines.append(f"cluster registry: {cluster.registry.describe()} ({len(deployments.apps)} apps)")
        else:
            restored = await deployments.restore()
            if restored:
                plane.lines.append(f"restored {restored} deployed app(s) from {data_dir / 'apps'}")
        if config.admin is not None:
            token, origin = admin_token(config.admin_token, data_dir)
            logs = RecentLogs()
            logs.install()
            api = AdminApi(deployments, token, logs, publish=publish, remove=remove, node=node,
                           draining=lambda: server.draining)
            # uploads carry whole modules (base64): a Go service or a componentize-py component
            # is over the apps' 10 MiB body limit (docs/admin.md)
            limits = server.limits
            admin = HttpServer(api, ConnectionLimits(max(limits.max_body, ADMIN_MAX_BODY), limits.max_header_bytes,
                                                     limits.request_timeout, limits.max_connections))
            ctx = None
            if config.admin_tls:
                from ..net.tls import CertPair, server_context

                if config.tls_cert is None or config.tls_key is None:
                    raise WasmServerError("--admin-tls needs --cert and --key (or [tls] cert and key)")
                ctx = server_context(CertPair(config.tls_cert, config.tls_key))
            try:
                await admin.listen(config.admin.host, config.admin.port, reuse_port=config.workers > 1, ssl=ctx)
            except OSError as exc:
                raise WasmServerError(f"cannot listen on {config.admin.url()} for the admin API: "
                                      f"{exc.strerror}") from None
            plane.admin_server = admin
            url = config.admin.url().replace("http://", "https://") if ctx is not None else config.admin.url()
            plane.lines.append(f"admin API: {url} (token from {origin})")
        return plane

    def swap_command_line(self, app: App) -> None:
        """--watch loaded a new version of the command line's app."""
        name = self.command_line or app.spec.name
        self.deployments.add_running(name, app, "command line")

    def describe(self) -> list[str]:
        """Start-up lines."""
        return self.lines

    async def close(self) -> None:
        """Stop the admin listener and the cluster follower; close deployed apps."""
        if self.admin_server is not None:
            await self.admin_server.shutdown(grace=5)
        if self.cluster is not None:
            from ..cluster import Cluster

            assert isinstance(self.cluster, Cluster)
            await self.cluster.close()
        await self.deployments.close()
