// The C++ SDK's probe (tests/sdk/test_cpp_sdk.py): one route per SDK feature.
#include "wasm_server.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

static const ws::Store store("default");

// "code message" of the last host call, for the test to read
static std::string outcome() { return std::to_string(ws::last_error().code) + " " + ws::last_error().message; }

static ws::Response kv(const ws::Request& req) {
    std::string key(*req.param("key"));
    if (req.method() == "PUT") {
        return store.set(key, req.body()) ? ws::Response(204) : ws::Response::text(500, outcome());
    }
    if (req.method() == "DELETE") return store.remove(key) ? ws::Response(204) : ws::Response::text(500, outcome());
    std::optional<std::string> value = store.get(key);
    if (!value) return ws::Response::text(ws::last_error().not_found() ? 404 : 500, outcome());
    return ws::Response::text(200, *value);
}

static ws::Response kv_summary(const ws::Request& req) {
    std::string out;
    std::optional<std::vector<std::string>> keys = store.keys(req.query());
    for (const std::string& k : keys.value_or(std::vector<std::string>{})) out += k + ",";
    std::optional<bool> there = store.exists("a");
    std::optional<int64_t> n = store.incr("n", 5);
    out += "|exists a=" + std::string(there.value_or(false) ? "1" : "0") + "|incr=" + std::to_string(n.value_or(-1));
    return ws::Response::text(200, out);
}

static ws::Response undeclared(const ws::Request&) {
    std::optional<std::string> v = ws::Store("nope").get("k");
    return ws::Response::text(v ? 200 : 500, outcome());
}

static ws::Response vars(const ws::Request& req) {
    std::optional<std::string> v = ws::variable(std::string(*req.param("name")));
    if (!v) return ws::Response::text(404, outcome());
    return ws::Response::text(200, *v);
}

static ws::Response logs(const ws::Request& req) {
    ws::log_info("sdk log says " + std::string(req.query()));
    ws::log_warn("sdk warning");
    std::cout << "cout says " << req.query() << std::endl;
    std::printf("printf without a newline");
    return ws::Response::text(200, "logged\n");
}

static ws::Response stream(const ws::Request&) {
    std::optional<ws::Stream> s = ws::Stream::start(200, {{"content-type", "text/plain"}, {"x-streamed", "yes"}});
    if (!s) return ws::Response::text(500, outcome());
    for (int i = 0; i < 3; i++) s->write("chunk " + std::to_string(i) + "\n");
    return ws::Response::streamed();
}

static ws::Response info(const ws::Request& req) {
    std::string out = std::string(req.method()) + " " + std::string(req.path()) + " q=" + std::string(req.query()) +
                      " route=" + std::string(req.route()) + " info=" + std::string(req.path_info()) +
                      " h=" + std::string(req.header("X-Probe").value_or("-")) + " body=" + std::string(req.body());
    return ws::Response::text(200, out).header("x-a", "1").header("x-a", "2");
}

// outbound TCP or UDP (?udp): connect to x-target's "host:port", send the body, answer what comes back
static ws::Response socket_roundtrip(const ws::Request& req) {
    std::string target(req.header("x-target").value_or(""));
    size_t colon = target.rfind(':');
    uint16_t port = static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1));
    std::string host = target.substr(0, colon);
    std::optional<ws::Socket> sock = req.query() == "udp" ? ws::Socket::udp(host, port) : ws::Socket::tcp(host, port);
    if (!sock) return ws::Response::text(502, outcome());
    if (!sock->send(req.body())) return ws::Response::text(502, outcome());
    std::optional<std::string> got = sock->recv(1024, 5000);
    return got ? ws::Response::text(200, *got) : ws::Response::text(504, outcome());
}

static const ws::Router app = ws::Router()
    .get("/users/{id}", [](const ws::Request& req) { return ws::Response::text(200, "user " + std::string(*req.param("id"))); })
    .get("/users/{id}/files/{name}", [](const ws::Request& req) {
        return ws::Response::text(200, std::string(*req.param("id")) + "/" + std::string(*req.param("name")));
    })
    .post("/users", [](const ws::Request& req) { return ws::Response::json(201, req.body()); })
    .get("/files/...", [](const ws::Request& req) { return ws::Response::text(200, "rest=" + std::string(*req.param("..."))); })
    .route("PUT", "/kv/{key}", kv)
    .get("/kv/{key}", kv)
    .del("/kv/{key}", kv)
    .get("/kv", kv_summary)
    .get("/undeclared", undeclared)
    .get("/vars/{name}", vars)
    .get("/log", logs)
    .get("/stream", stream)
    .any("/info/...", info)
    .post("/socket", socket_roundtrip)
    .not_found([](const ws::Request& req) { return ws::Response::text(404, "no route for " + std::string(req.path())); });

WASM_SERVER_SERVE(app)

// WebSockets: a room on pub/sub; "pub X" publishes X to it, "sleep" sleeps first
static bool ws_open(ws::Connection conn, const ws::Request& req) {
    return conn.subscribe("room") && conn.send_message("welcome to " + std::string(req.path()));
}
static bool ws_message(ws::Connection conn, std::string_view data, bool binary) {
    if (data.substr(0, 4) == "pub ") return ws::publish("room", data.substr(4));
    if (data == "sleep") return ws::sleep_ms(20) && conn.send_message("slept");
    if (data == "bye") return conn.close(4000, "asked to");
    return conn.send_message(data, binary);
}
static void ws_close(ws::Connection conn, int code, std::string_view) {
    ws::log_info("websocket " + std::to_string(conn.id()) + " closed with " + std::to_string(code));
}
WASM_SERVER_SERVE(ws::WebSocketHandlers{ws_open, ws_message, ws_close})

// raw TCP: greets, echoes with a count (state lives in the per-connection instance), logs the close
static int seen = 0;
WASM_SERVER_SERVE(ws::TcpHandlers{
    [](ws::Connection conn, std::string_view peer, std::string_view) {
        return conn.send("hello " + std::string(peer.substr(0, peer.rfind(':'))) + "\n");
    },
    [](ws::Connection conn, std::string_view data) {
        if (data == "quit") return conn.close();
        return conn.send(std::to_string(++seen) + ":" + std::string(data));
    },
    [](ws::Connection) { ws::log_info("tcp connection closed after " + std::to_string(seen)); }})

// UDP: answers every datagram to its sender
WASM_SERVER_SERVE(ws::UdpHandler([](ws::UdpSocket sock, std::string_view peer, std::string_view data) {
    sock.send_to(peer, "got " + std::string(data));
}))
