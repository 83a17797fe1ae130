"""Connections and a registry that record what a broker sends them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeConn:
    """A live connection of ``component`` that keeps what it got (until closed)."""

    component: str
    got: list[bytes] = field(default_factory=list)
    open: bool = True

    def send(self, data: bytes, *, binary: bool = True) -> bool:
        if not self.open:
            return False
        assert binary is False  # published messages are text messages on WebSockets
        self.got.append(data)
        return True


class FakeRegistry:
    """Connection ids → FakeConn."""

    def __init__(self) -> None:
        self.conns: dict[int, FakeConn] = {}

    def add(self, conn_id: int, component: str) -> FakeConn:
        self.conns[conn_id] = FakeConn(component)
        return self.conns[conn_id]

    def get(self, conn_id: int, component: str) -> FakeConn | None:
        conn = self.conns.get(conn_id)
        return conn if conn is not None and conn.component == component else None
