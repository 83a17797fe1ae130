// The echo protocol (RFC 862) over TCP: every byte received is sent back.
#include "wasm_server.hpp"

static bool on_data(ws::Connection conn, std::string_view data) { return conn.send(data); }

WASM_SERVER_SERVE(ws::TcpHandlers{nullptr, on_data, nullptr})
