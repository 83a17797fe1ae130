"""The admin API (deploy, undeploy, list, status, logs, metrics) and its token."""

from .api import AdminApi
from .logs import RecentLogs
from .token import admin_token

__all__ = ["AdminApi", "RecentLogs", "admin_token"]
