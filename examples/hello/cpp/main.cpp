// Hello from C++: answers every request with a greeting and the path it saw.
#include "wasm_server.hpp"

#include <string>

static ws::Response hello(const ws::Request& req) {
    // path_info is the path below the route's prefix, so the greeting is
    // the same whether this runs alone or mounted under /hello/cpp
    return ws::Response::text(200, "Hello from C++\npath: " + std::string(req.path_info()) + "\n");
}

WASM_SERVER_SERVE(hello)
