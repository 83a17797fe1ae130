// {{name}}: a wasm-server service in C++. Build and serve: wasm-server up .
#include "wasm_server.hpp"

#include <string>

static const ws::Store store("default");  // declared in wasm-server.toml

static ws::Response hello(const ws::Request& req) {
    // route parameters come back as std::optional<std::string_view>
    return ws::Response::text(200, "Hello, " + std::string(req.param("who").value_or("you")) + "!\n");
}

static ws::Response visit(const ws::Request& req) {
    // count visits in the KV store; a failed host call says why in ws::last_error()
    std::optional<int64_t> visits = store.incr("visits");
    if (!visits) ws::log_warn("could not count the visit: " + ws::last_error().message);
    return ws::Response::text(200, "Hello from {{name}}!\nyou asked for " + std::string(req.path_info()) +
                                       " (visit " + std::to_string(visits.value_or(0)) + ")\n");
}

// patterns match the path below the manifest route; first match wins
static const ws::Router app = ws::Router()
    .get("/hello/{who}", hello)
    .get("/...", visit);

WASM_SERVER_SERVE(app)
