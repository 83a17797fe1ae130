// wasm_server.hpp — the C++17 SDK of wasm-server: a thin layer over the C SDK
// (sdk/c/wasm_server.h, ABI v1 in docs/abi.md), header-only.
//
//     #include "wasm_server.hpp"
//
//     static const ws::Router app = ws::Router()
//         .get("/hello/{name}", [](const ws::Request& req) {
//             return ws::Response::text(200, "Hello, " + std::string(*req.param("name")) + "\n");
//         });
//     WASM_SERVER_SERVE(app)
//
// Build with `wasm-server c++ -o app.wasm main.cpp` (zig's clang++, wasm32-wasi,
// libc++, C++17, -fno-exceptions: zig's wasm32-wasi libc++abi has no exception
// runtime). Every host call returns std::optional or bool; when it fails,
// ws::last_error() says why (its code is one of the WS_* codes of the C SDK).
// Views (std::string_view) handed to you borrow the request: copy what must
// outlive the handler.
#ifndef WASM_SERVER_HPP
#define WASM_SERVER_HPP

#include "wasm_server.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws {

// ---- bytes ------------------------------------------------------------------

/// A borrowed C byte string as a string_view (no copy).
inline std::string_view view(ws_bytes b) {
    return b.len ? std::string_view(reinterpret_cast<const char*>(b.ptr), b.len) : std::string_view();
}

/// A string_view as a borrowed C byte string (no copy).
inline ws_bytes bytes(std::string_view s) {
    return ws_bytes{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// ASCII case-insensitive equality (header names).
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
        if (x != y) return false;
    }
    return true;
}

// ---- errors -------------------------------------------------------------------

/// Why the last host call failed: `code` is WS_OK after a success, else one of
/// WS_NOT_FOUND, WS_DENIED, WS_TOO_LARGE, WS_INVALID, WS_IO, WS_TIMEOUT.
struct Error {
    int code = WS_OK;
    std::string message;

    bool ok() const { return code == WS_OK; }
    bool not_found() const { return code == WS_NOT_FOUND; }
    bool denied() const { return code == WS_DENIED; }
    bool timed_out() const { return code == WS_TIMEOUT; }
};

namespace detail {
inline Error& last() {
    static Error error;
    return error;
}

/// Record the outcome of a C SDK call (its return code) and say whether it succeeded.
inline bool record(int rc) {
    Error& e = last();
    e.code = rc < 0 ? rc : WS_OK;
    if (rc < 0) {
        e.message = ws_last_error();
    } else {
        e.message.clear();
    }
    return rc >= 0;
}

/// Own a ws_buf as a std::string (the buffer is freed).
inline std::string take(ws_buf& buf) {
    std::string s(reinterpret_cast<const char*>(buf.ptr), buf.len);
    ws_buf_free(&buf);
    return s;
}
}  // namespace detail

/// The outcome of the last host call made through this SDK.
inline const Error& last_error() { return detail::last(); }

// ---- log, variables ----------------------------------------------------------

enum class Level { trace = WS_TRACE, debug = WS_DEBUG, info = WS_INFO, warn = WS_WARN, error = WS_ERROR };

/// One line in the server log, tagged with the component and request id.
inline void log(Level level, std::string_view message) {
    std::string line(message);
    ws_log(static_cast<int>(level), line.c_str());
}
inline void log_debug(std::string_view m) { log(Level::debug, m); }
inline void log_info(std::string_view m) { log(Level::info, m); }
inline void log_warn(std::string_view m) { log(Level::warn, m); }
inline void log_error(std::string_view m) { log(Level::error, m); }

/// A manifest variable ([component.variables]); nullopt when it is not set.
inline std::optional<std::string> variable(std::string_view name) {
    ws_buf out{};
    if (!detail::record(ws_var_get(std::string(name).c_str(), &out))) return std::nullopt;
    return detail::take(out);
}

// ---- requests -------------------------------------------------------------------

/// A name and a value (headers, parameters), borrowed.
struct Header {
    std::string_view name;
    std::string_view value;
};

/// An inbound HTTP request; valid while the handler runs.
class Request {
public:
    explicit Request(const ws_request& raw) : raw_(&raw) {}

    std::string_view method() const { return view(raw_->method); }
    /// The request target as received: path and `?query`.
    std::string_view url() const { return view(raw_->url); }
    /// The URL's path (before `?`).
    std::string_view path() const { return view(ws_request_path(raw_)); }
    /// The URL's query (after `?`, empty if none).
    std::string_view query() const { return view(ws_request_query(raw_)); }
    /// The manifest route that matched (e.g. `/users/{id}` or `/api/...`).
    std::string_view route() const { return view(raw_->route); }
    /// The part of the path the route's prefix matched.
    std::string_view base() const { return view(raw_->base); }
    /// The path below the route's prefix (the whole path for an exact route).
    std::string_view path_info() const { return view(raw_->path_info); }
    /// The client's address, `ip:port`.
    std::string_view client() const { return view(raw_->client); }
    std::string_view body() const { return view(raw_->body); }

    /// First header `name` (case-insensitive).
    std::optional<std::string_view> header(std::string_view name) const {
        for (size_t i = 0; i < raw_->header_count; i++) {
            if (iequals(view(raw_->headers[i].name), name)) return view(raw_->headers[i].value);
        }
        return std::nullopt;
    }

    /// Every header in order (names lower-case).
    std::vector<Header> headers() const {
        std::vector<Header> out;
        out.reserve(raw_->header_count);
        for (size_t i = 0; i < raw_->header_count; i++) {
            out.push_back({view(raw_->headers[i].name), view(raw_->headers[i].value)});
        }
        return out;
    }

    /// A parameter: one the ws::Router captured (`{name}`, or `...` for the rest
    /// after a trailing `/...`), else one of the manifest route (`{name}`).
    std::optional<std::string_view> param(std::string_view name) const {
        for (const Header& p : params_) {
            if (p.name == name) return p.value;
        }
        for (size_t i = 0; i < raw_->param_count; i++) {
            if (view(raw_->params[i].name) == name) return view(raw_->params[i].value);
        }
        return std::nullopt;
    }

    /// The C request underneath.
    const ws_request& raw() const { return *raw_; }

    /// The same request with router parameters attached (used by ws::Router).
    Request with_params(std::vector<Header> params) const {
        Request r(*raw_);
        r.params_ = std::move(params);
        return r;
    }

private:
    const ws_request* raw_;
    std::vector<Header> params_;
};

// ---- responses ------------------------------------------------------------------

/// An HTTP response under construction; move-only. Chain calls on a temporary:
/// `return ws::Response(201).header("location", url).write("made\n");`
class Response {
public:
    explicit Response(int status = 200) : res_(ws_response_new(status)), status_(status) {}

    /// `status` with `content-type: text/plain; charset=utf-8` and `body`.
    static Response text(int status, std::string_view body) {
        return Response(status).header("content-type", "text/plain; charset=utf-8").write(body);
    }
    /// `status` with `content-type: application/json` and `body`.
    static Response json(int status, std::string_view body) {
        return Response(status).header("content-type", "application/json").write(body);
    }
    /// The handler's answer after it streamed the body with ws::Stream.
    static Response streamed() { return Response(Streamed{}); }

    int status() const { return status_; }

    Response& set_status(int status) & {
        status_ = status;
        if (res_) ws_response_set_status(res_.get(), status);
        return *this;
    }
    Response&& set_status(int status) && { return std::move(set_status(status)); }

    /// Add a header (duplicates allowed).
    Response& header(std::string_view name, std::string_view value) & {
        if (res_) ws_response_header_bytes(res_.get(), bytes(name), bytes(value));
        return *this;
    }
    Response&& header(std::string_view name, std::string_view value) && { return std::move(header(name, value)); }

    /// Append to the body.
    Response& write(std::string_view data) & {
        if (res_) ws_response_write(res_.get(), data.data(), data.size());
        return *this;
    }
    Response&& write(std::string_view data) && { return std::move(write(data)); }

    /// Hand the C response to the C SDK (which frees it after encoding).
    ws_response* release() { return streamed_ ? ws_response_streamed() : res_.release(); }

private:
    struct Streamed {};
    struct Free {
        void operator()(ws_response* r) const { ws_response_free(r); }
    };
    explicit Response(Streamed) : status_(200), streamed_(true) {}

    std::unique_ptr<ws_response, Free> res_;
    int status_;
    bool streamed_ = false;
};

/// A streamed (chunked) response body: start it, write chunks, then return
/// ws::Response::streamed() from the handler.
class Stream {
public:
    /// Send status and headers now; nullopt if the host refused (see last_error()).
    static std::optional<Stream> start(int status, std::initializer_list<Header> headers = {}) {
        std::vector<ws_pair> pairs;
        pairs.reserve(headers.size());
        for (const Header& h : headers) pairs.push_back({bytes(h.name), bytes(h.value)});
        if (!detail::record(ws_stream_start(status, pairs.data(), pairs.size()))) return std::nullopt;
        return Stream();
    }
    /// Write one chunk; waits while the client is slow. false: the client is gone.
    bool write(std::string_view data) { return detail::record(ws_stream_write(data.data(), data.size())); }

private:
    Stream() = default;
};

// ---- the router -----------------------------------------------------------------

/// A request handler: any callable taking the request and returning a Response.
using Handler = std::function<Response(const Request&)>;

/// Routes by method and path pattern to handlers, first match wins. Patterns
/// are matched against the request's path_info (the path below the manifest
/// route's prefix, so a service answers the same wherever it is mounted) and
/// use the manifest's forms: `/users/{id}` captures one segment, a trailing
/// `/...` matches any rest (kept as param "..."). A path that matches but with
/// no handler for the method gets 405 with `allow`; no match gets 404. HEAD
/// falls back to GET.
class Router {
public:
    Router& get(std::string_view pattern, Handler h) & { return route("GET", pattern, std::move(h)); }
    Router& post(std::string_view pattern, Handler h) & { return route("POST", pattern, std::move(h)); }
    Router& put(std::string_view pattern, Handler h) & { return route("PUT", pattern, std::move(h)); }
    Router& patch(std::string_view pattern, Handler h) & { return route("PATCH", pattern, std::move(h)); }
    Router& del(std::string_view pattern, Handler h) & { return route("DELETE", pattern, std::move(h)); }
    /// Any method.
    Router& any(std::string_view pattern, Handler h) & { return route("", pattern, std::move(h)); }
    Router&& get(std::string_view p, Handler h) && { return std::move(get(p, std::move(h))); }
    Router&& post(std::string_view p, Handler h) && { return std::move(post(p, std::move(h))); }
    Router&& put(std::string_view p, Handler h) && { return std::move(put(p, std::move(h))); }
    Router&& patch(std::string_view p, Handler h) && { return std::move(patch(p, std::move(h))); }
    Router&& del(std::string_view p, Handler h) && { return std::move(del(p, std::move(h))); }
    Router&& any(std::string_view p, Handler h) && { return std::move(any(p, std::move(h))); }

    /// A route for `method` (upper-case; "" for any method).
    Router& route(std::string_view method, std::string_view pattern, Handler h) & {
        routes_.push_back({std::string(method), split(pattern), std::move(h)});
        return *this;
    }
    Router&& route(std::string_view m, std::string_view p, Handler h) && { return std::move(route(m, p, std::move(h))); }

    /// What answers when no pattern matches (default: 404 text).
    Router& not_found(Handler h) & {
        not_found_ = std::move(h);
        return *this;
    }
    Router&& not_found(Handler h) && { return std::move(not_found(std::move(h))); }

    Response operator()(const Request& req) const {
        std::string_view path = req.path_info().empty() ? std::string_view("/") : req.path_info();
        std::string_view method = req.method();
        std::string allow;
        const Route* fallback = nullptr;  // a GET route answering HEAD
        std::vector<Header> fallback_params;
        for (const Route& r : routes_) {
            std::vector<Header> params;
            if (!matches(r.segments, path, params)) continue;
            if (r.method.empty() || r.method == method) return r.handler(req.with_params(std::move(params)));
            if (method == "HEAD" && r.method == "GET" && !fallback) {
                fallback = &r;
                fallback_params = std::move(params);
            }
            if (!listed(allow, r.method)) allow += (allow.empty() ? "" : ", ") + r.method;
        }
        if (fallback) return fallback->handler(req.with_params(std::move(fallback_params)));
        if (!allow.empty()) return Response::text(405, "method not allowed\n").header("allow", allow);
        if (not_found_) return not_found_(req);
        return Response::text(404, "not found\n");
    }

private:
    struct Route {
        std::string method;
        std::vector<std::string> segments;  // "{name}" captures, a last "..." takes the rest
        Handler handler;
    };

    static bool listed(std::string_view allow, std::string_view method) {
        for (std::string_view rest = allow; !rest.empty();) {
            size_t comma = rest.find(", ");
            if (rest.substr(0, comma) == method) return true;
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
        }
        return false;
    }

    /// "/a/{b}/..." → {"a", "{b}", "..."}; "/" → {}.
    static std::vector<std::string_view> parts(std::string_view path) {
        std::vector<std::string_view> out;
        if (path.size() <= 1) return out;
        for (size_t at = 1;;) {
            size_t end = path.find('/', at);
            out.push_back(path.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
            if (end == std::string_view::npos) return out;
            at = end + 1;
        }
    }

    static std::vector<std::string> split(std::string_view pattern) {
        std::vector<std::string> out;
        for (std::string_view p : parts(pattern)) out.emplace_back(p);
        return out;
    }

    static bool matches(const std::vector<std::string>& segs, std::string_view path, std::vector<Header>& params) {
        std::vector<std::string_view> got = parts(path);
        bool wildcard = !segs.empty() && segs.back() == "...";
        size_t n = segs.size() - (wildcard ? 1 : 0);
        if (got.size() < n || (!wildcard && got.size() != n)) return false;
        size_t base = 0;  // length of the path the segments before a wildcard cover
        for (size_t i = 0; i < n; i++) {
            const std::string& seg = segs[i];
            if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
                if (got[i].empty()) return false;
                params.push_back({std::string_view(seg).substr(1, seg.size() - 2), got[i]});
            } else if (seg != got[i]) {
                return false;
            }
            base += 1 + got[i].size();
        }
        if (wildcard) params.push_back({"...", path.substr(base)});
        return true;
    }

    std::vector<Route> routes_;
    Handler not_found_;
};

// ---- key-value store --------------------------------------------------------------

/// A key-value store declared in the component's key_value_stores. Failed calls
/// return nullopt/false and set last_error(); get() of an absent key returns
/// nullopt with last_error().not_found().
class Store {
public:
    explicit Store(std::string name = "default") : name_(std::move(name)) {}

    const std::string& name() const { return name_; }

    std::optional<std::string> get(std::string_view key) const {
        ws_buf out{};
        if (!detail::record(ws_kv_get(name_.c_str(), key.data(), key.size(), &out))) return std::nullopt;
        return detail::take(out);
    }
    bool set(std::string_view key, std::string_view value) const {
        return detail::record(ws_kv_set(name_.c_str(), key.data(), key.size(), value.data(), value.size()));
    }
    bool remove(std::string_view key) const {
        return detail::record(ws_kv_delete(name_.c_str(), key.data(), key.size()));
    }
    std::optional<bool> exists(std::string_view key) const {
        int rc = ws_kv_exists(name_.c_str(), key.data(), key.size());
        if (!detail::record(rc)) return std::nullopt;
        return rc == 1;
    }
    /// Keys starting with `prefix`.
    std::optional<std::vector<std::string>> keys(std::string_view prefix = {}) const {
        ws_buf* list = nullptr;
        size_t count = 0;
        if (!detail::record(ws_kv_keys(name_.c_str(), prefix.data(), prefix.size(), &list, &count))) {
            return std::nullopt;
        }
        std::vector<std::string> out;
        out.reserve(count);
        for (size_t i = 0; i < count; i++) out.emplace_back(reinterpret_cast<const char*>(list[i].ptr), list[i].len);
        ws_kv_keys_free(list, count);
        return out;
    }
    /// Atomically add `delta` (an absent key counts as 0); the new value.
    std::optional<int64_t> incr(std::string_view key, int64_t delta = 1) const {
        int64_t value = 0;
        if (!detail::record(ws_kv_incr(name_.c_str(), key.data(), key.size(), delta, &value))) return std::nullopt;
        return value;
    }

private:
    std::string name_;
};

// ---- outbound HTTP ------------------------------------------------------------------

/// An outbound request (allowed_outbound_hosts decides where it may go).
struct FetchRequest {
    std::string method = "GET";
    std::string url;  // absolute
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// The answer to an outbound request, owned.
struct FetchResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::optional<std::string_view> header(std::string_view name) const {
        for (const auto& h : headers) {
            if (iequals(h.first, name)) return std::string_view(h.second);
        }
        return std::nullopt;
    }
};

/// Send a request through the host; nullopt on failure (last_error().denied()
/// when allowed_outbound_hosts refuses the URL).
inline std::optional<FetchResponse> fetch(const FetchRequest& req) {
    std::vector<ws_pair> pairs;
    pairs.reserve(req.headers.size());
    for (const auto& h : req.headers) pairs.push_back({bytes(h.first), bytes(h.second)});
    ws_http_request out{req.method.c_str(), req.url.c_str(), pairs.size(), pairs.data(), bytes(req.body)};
    ws_http_response in{};
    if (!detail::record(ws_http_send(&out, &in))) return std::nullopt;
    FetchResponse res;
    res.status = in.status;
    for (size_t i = 0; i < in.header_count; i++) {
        res.headers.emplace_back(std::string(view(in.headers[i].name)), std::string(view(in.headers[i].value)));
    }
    res.body = std::string(view(in.body));
    ws_http_response_free(&in);
    return res;
}

/// GET `url`.
inline std::optional<FetchResponse> fetch(std::string url) {
    FetchRequest req;
    req.url = std::move(url);
    return fetch(req);
}

// ---- connections ------------------------------------------------------------------

/// A raw TCP connection or a WebSocket, by id.
class Connection {
public:
    explicit Connection(uint32_t id) : id_(id) {}
    uint32_t id() const { return id_; }

    /// Bytes on TCP; a binary message on a WebSocket.
    bool send(std::string_view data) const { return detail::record(ws_conn_send(id_, data.data(), data.size())); }
    /// A WebSocket message, text unless `binary`.
    bool send_message(std::string_view data, bool binary = false) const {
        return detail::record(ws_websocket_send(id_, binary ? 1 : 0, data.data(), data.size()));
    }
    /// Close (WebSockets: code 1000).
    bool close() const { return detail::record(ws_conn_close(id_)); }
    /// Close a WebSocket with a code and reason.
    bool close(int code, std::string_view reason) const {
        return detail::record(ws_websocket_close(id_, code, std::string(reason).c_str()));
    }
    /// The peer's address, `ip:port`.
    std::optional<std::string> peer() const {
        ws_buf out{};
        if (!detail::record(ws_conn_peer(id_, &out))) return std::nullopt;
        return detail::take(out);
    }
    /// Receive what is published on `channel` until the connection closes.
    bool subscribe(std::string_view channel) const {
        return detail::record(ws_subscribe(id_, std::string(channel).c_str()));
    }

private:
    uint32_t id_;
};

/// A UDP listener socket (the one a datagram arrived on).
class UdpSocket {
public:
    explicit UdpSocket(uint32_t id) : id_(id) {}
    uint32_t id() const { return id_; }
    /// Send a datagram to `peer` (`ip:port`).
    bool send_to(std::string_view peer, std::string_view data) const {
        return detail::record(ws_udp_send(id_, bytes(peer), data.data(), data.size()));
    }

private:
    uint32_t id_;
};

/// Publish to every connection of this component subscribed to `channel`.
inline bool publish(std::string_view channel, std::string_view data) {
    return detail::record(ws_publish(std::string(channel).c_str(), data.data(), data.size()));
}

/// Suspend this guest for `ms` milliseconds (the server serves others meanwhile).
inline bool sleep_ms(uint32_t ms) { return detail::record(ws_sleep_ms(ms)); }

/// An outbound TCP or UDP socket (allowed_outbound_hosts: `tcp://host:port`,
/// `udp://host:port`); closed when destroyed. Move-only.
class Socket {
public:
    static std::optional<Socket> tcp(std::string_view host, uint16_t port) { return open(host, port, ws_tcp_connect); }
    static std::optional<Socket> udp(std::string_view host, uint16_t port) { return open(host, port, ws_udp_connect); }

    Socket(Socket&& other) noexcept : handle_(std::exchange(other.handle_, -1)) {}
    Socket& operator=(Socket&& other) noexcept {
        if (this != &other) {
            close();
            handle_ = std::exchange(other.handle_, -1);
        }
        return *this;
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    ~Socket() { close(); }

    /// Send bytes (TCP) or one datagram (UDP).
    bool send(std::string_view data) const { return detail::record(ws_sock_send(handle_, data.data(), data.size())); }
    /// Up to `max` bytes; an empty string when the TCP peer closed; nullopt on
    /// failure (last_error().timed_out() after `timeout_ms`; < 0 waits forever).
    std::optional<std::string> recv(size_t max = 65536, int timeout_ms = -1) const {
        std::string buf(max, '\0');
        size_t n = 0;
        if (!detail::record(ws_sock_recv(handle_, buf.data(), buf.size(), timeout_ms, &n))) return std::nullopt;
        buf.resize(n);
        return buf;
    }
    void close() {
        if (handle_ >= 0) ws_sock_close(std::exchange(handle_, -1));
    }

private:
    explicit Socket(int32_t handle) : handle_(handle) {}
    static std::optional<Socket> open(std::string_view host, uint16_t port, int (*connect)(const char*, uint16_t, int32_t*)) {
        int32_t handle = -1;
        if (!detail::record(connect(std::string(host).c_str(), port, &handle))) return std::nullopt;
        return Socket(handle);
    }
    int32_t handle_;
};

// ---- registration ------------------------------------------------------------------

/// Raw TCP handlers ([[component.tcp]]); any may be empty. Returning false closes.
struct TcpHandlers {
    std::function<bool(Connection, std::string_view peer, std::string_view local)> on_connect;
    std::function<bool(Connection, std::string_view data)> on_data;
    std::function<void(Connection)> on_close;
};

/// WebSocket handlers (routes with websocket = true); any may be empty. Returning false closes.
struct WebSocketHandlers {
    std::function<bool(Connection, const Request&)> on_open;
    std::function<bool(Connection, std::string_view data, bool binary)> on_message;
    std::function<void(Connection, int code, std::string_view reason)> on_close;
};

/// The UDP datagram handler ([[component.udp]]).
using UdpHandler = std::function<void(UdpSocket, std::string_view peer, std::string_view data)>;

namespace detail {
struct Registry {
    Handler http;
    TcpHandlers tcp;
    WebSocketHandlers websocket;
    UdpHandler udp;
};

// A function-local static: user code registers from its own static
// initializers, which may run before this header's globals would be built.
inline Registry& registry() {
    static Registry r;
    return r;
}

inline ws_response* on_http(const ws_request* raw) {
    // the C SDK encodes and frees it, and flushes stdio (std::cout included) after every event
    return registry().http(Request(*raw)).release();
}

inline int keep(bool open) { return open ? 0 : -1; }

inline int on_tcp_connect(uint32_t id, ws_bytes peer, ws_bytes local) {
    return keep(registry().tcp.on_connect(Connection(id), view(peer), view(local)));
}
inline int on_tcp_data(uint32_t id, ws_bytes data) { return keep(registry().tcp.on_data(Connection(id), view(data))); }
inline void on_tcp_close(uint32_t id) {
    registry().tcp.on_close(Connection(id));
}
inline int on_ws_open(uint32_t id, const ws_request* req) {
    return keep(registry().websocket.on_open(Connection(id), Request(*req)));
}
inline int on_ws_message(uint32_t id, int binary, ws_bytes data) {
    return keep(registry().websocket.on_message(Connection(id), view(data), binary != 0));
}
inline void on_ws_close(uint32_t id, int code, ws_bytes reason) {
    registry().websocket.on_close(Connection(id), code, view(reason));
}
inline void on_udp(uint32_t id, ws_bytes peer, ws_bytes data) {
    registry().udp(UdpSocket(id), view(peer), view(data));
}
}  // namespace detail

/// Serve HTTP with `handler` (a function, a lambda or a ws::Router).
inline bool serve(Handler handler) {
    detail::registry().http = std::move(handler);
    ws__http_handler = &detail::on_http;
    return true;
}

/// Serve raw TCP connections.
inline bool serve(TcpHandlers handlers) {
    ws__tcp.on_connect = handlers.on_connect ? &detail::on_tcp_connect : nullptr;
    ws__tcp.on_data = handlers.on_data ? &detail::on_tcp_data : nullptr;
    ws__tcp.on_close = handlers.on_close ? &detail::on_tcp_close : nullptr;
    detail::registry().tcp = std::move(handlers);
    return true;
}

/// Serve WebSockets.
inline bool serve(WebSocketHandlers handlers) {
    ws__websocket.on_open = handlers.on_open ? &detail::on_ws_open : nullptr;
    ws__websocket.on_message = handlers.on_message ? &detail::on_ws_message : nullptr;
    ws__websocket.on_close = handlers.on_close ? &detail::on_ws_close : nullptr;
    detail::registry().websocket = std::move(handlers);
    return true;
}

/// Serve UDP datagrams.
inline bool serve(UdpHandler handler) {
    ws__udp = handler ? &detail::on_udp : nullptr;
    detail::registry().udp = std::move(handler);
    return true;
}

}  // namespace ws

#define WASM_SERVER_CAT2(a, b) a##b
#define WASM_SERVER_CAT(a, b) WASM_SERVER_CAT2(a, b)

/// Register a handler at start-up (runs from _initialize, before any event):
/// WASM_SERVER_SERVE(router), WASM_SERVER_SERVE(ws::TcpHandlers{...}), …
#define WASM_SERVER_SERVE(...) \
    static const bool WASM_SERVER_CAT(ws__served_, __COUNTER__) [[maybe_unused]] = ::ws::serve(__VA_ARGS__);

#endif  // WASM_SERVER_HPP
