// The echo protocol (RFC 862) over TCP: every byte received is sent back.
import { Conn, serveTcp } from "wasm-server";

function onData(conn: Conn, data: Uint8Array): bool {
  return conn.send(data);
}

serveTcp(onData);
