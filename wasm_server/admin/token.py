"""Where the admin token comes from."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV = "WASM_SERVER_ADMIN_TOKEN"


def admin_token(configured: str | None, data_dir: Path) -> tuple[str, str]:
    """``(token, where it came from)``: the runtime config, else $WASM_SERVER_ADMIN_TOKEN, else a
    random token generated once and kept in ``<data_dir>/admin-token`` (mode 0600)."""
    if configured:
        return configured, "the runtime config"
    env = os.environ.get(ENV)
    if env:
        return env, f"${ENV}"
    path = data_dir / "admin-token"
    if path.exists():
        return path.read_text().strip(), str(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, f"{path} (generated)"
