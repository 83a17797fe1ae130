// The C++ SDK's probe (tests/sdk/test_cpp_sdk.py): one route per SDK feature.
#include "wasm_server.hpp"

#include <cstdio>
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
    .not_found([](const ws::Request& req) { return ws::Response::text(404, "no route for " + std::string(req.path())); });

WASM_SERVER_SERVE(app)
