"""Where a cluster keeps its registry of deployed apps: Redis (one location) or Cassandra
(several locations, each reading and writing its own datacenter).

cluster.py follows a registry; the backends here only store and read records and blobs
(see base.Registry). Each backend is imported only when configured: a single-node server
never loads a database driver.
"""

from .base import Record, Registry, RegistryUnavailable

__all__ = ["Record", "Registry", "RegistryUnavailable"]
