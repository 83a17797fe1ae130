// A persistent counter in the KV store: POST increments, GET reads.
// Any path works: the manifest decides where the counter lives.
#include "wasm_server.hpp"

#include <string>

static const ws::Store store("default");
static constexpr const char* KEY = "counter";

static ws::Response unavailable(const char* what) {
    ws::log_error(std::string(what) + " failed: " + ws::last_error().message);
    return ws::Response::text(503, "the counter is unavailable\n");
}

static ws::Response counter(const ws::Request& req) {
    if (req.method() == "POST") {
        std::optional<int64_t> value = store.incr(KEY);
        if (!value) return unavailable("increment");
        return ws::Response::text(200, std::to_string(*value) + "\n");
    }
    if (req.method() == "GET" || req.method() == "HEAD") {
        std::optional<std::string> value = store.get(KEY);
        if (!value && !ws::last_error().not_found()) return unavailable("read");
        return ws::Response::text(200, value.value_or("0") + "\n");
    }
    return ws::Response::text(405, "use GET or POST\n").header("allow", "GET, POST");
}

WASM_SERVER_SERVE(counter)
