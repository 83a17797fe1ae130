// Echo a request back (method, target, x-test-* headers, body), fetch a URL
// through the host, and echo WebSocket messages: the parity example
// (tests/e2e/parity/CONTRACT.md).
#include "wasm_server.hpp"

#include <string>

static ws::Response echo(const ws::Request& req) {
    ws::Response res = ws::Response(200)
                           .header("x-echo-method", req.method())
                           .header("x-echo-url", req.url())
                           .header("x-echo-path", req.path_info());
    for (const ws::Header& h : req.headers()) {
        if (h.name.substr(0, 7) == "x-test-") res.header("x-echo-" + std::string(h.name), h.value);
    }
    res.header("content-type", req.header("content-type").value_or("application/octet-stream"));
    return std::move(res.write(req.body()));
}

static ws::Response fetch(const ws::Request& req) {
    std::optional<std::string_view> url = req.header("x-fetch-url");
    if (!url) return ws::Response::text(400, "send the URL in x-fetch-url\n");
    std::optional<ws::FetchResponse> up = ws::fetch(std::string(*url));
    if (!up && ws::last_error().denied()) return ws::Response::text(403, "denied: " + ws::last_error().message + "\n");
    if (!up) return ws::Response::text(502, "fetch failed: " + ws::last_error().message + "\n");
    return ws::Response(200).header("x-upstream-status", std::to_string(up->status)).write(up->body);
}

static ws::Response handle(const ws::Request& req) { return req.route() == "/fetch" ? fetch(req) : echo(req); }

static bool on_message(ws::Connection conn, std::string_view data, bool binary) {
    return conn.send_message(data, binary);
}

WASM_SERVER_SERVE(handle)
WASM_SERVER_SERVE(ws::WebSocketHandlers{nullptr, on_message, nullptr})
