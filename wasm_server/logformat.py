"""``--log-format json``: one JSON object per log line, for log shippers."""

from __future__ import annotations

import json
import logging
import time


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"}`` plus ``component`` for lines about one."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        args = record.args
        if isinstance(args, tuple) and args and isinstance(args[0], str) and (
                record.name == "wasm_server.guest" or str(record.msg).startswith("component '")):
            doc["component"] = args[0]
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc)
