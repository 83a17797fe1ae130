// A small JSON API over the KV store in C++, with nlohmann/json (Debian's
// nlohmann-json3-dev, header-only in /usr/include, reached with -I/usr/include):
//
//   GET /items?name=SUBSTRING&limit=N   the items, oldest first, optionally filtered
//   GET /items/{id}                     one item, or 404
//   POST /items  {"name": "...", "price_cents": 350, "tags": ["..."]}
//                                       201 and the item; 400 for a body that is not
//                                       that JSON, 422 for a name out of range
//   DELETE /items/{id}                  204, or 404
//
// Every error is JSON too: {"error": "..."}. The ws::Router matches path_info, so
// the API works alone and mounted under a prefix. Guests build without exceptions
// (zig's wasm32-wasi libc++ has no exception runtime): nlohmann/json sees that and
// is used through its non-throwing calls, json::parse(text, nullptr, false).
#include <nlohmann/json.hpp>

#include "wasm_server.hpp"

#include <algorithm>
#include <charconv>
#include <iostream>
#include <string>

using nlohmann::json;

static const ws::Store store("default");
static constexpr std::string_view PREFIX = "item:";

static ws::Response reply(int status, const json& value) { return ws::Response::json(status, value.dump()); }
static ws::Response error(int status, const std::string& message) { return reply(status, {{"error", message}}); }

static ws::Response store_failed() {
    ws::log_error("kv store: " + ws::last_error().message);
    return error(500, "the store failed");
}

static std::string key(uint64_t id) { return std::string(PREFIX) + std::to_string(id); }

/// A non-negative decimal number, all of `text`.
static std::optional<uint64_t> number(std::string_view text) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

/// `name=` from the query (values are not percent-decoded: enough here).
static std::optional<std::string_view> query(const ws::Request& req, std::string_view name) {
    std::string_view rest = req.query();
    while (!rest.empty()) {
        std::string_view pair = rest.substr(0, rest.find('&'));
        if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
            return pair.substr(name.size() + 1);
        }
        rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
    }
    return std::nullopt;
}

static ws::Response list(const ws::Request& req) {
    size_t limit = SIZE_MAX;
    if (auto text = query(req, "limit")) {
        auto n = number(*text);
        if (!n) return error(400, "limit must be a number, not \"" + std::string(*text) + "\"");
        limit = *n;
    }
    auto keys = store.keys(PREFIX);
    if (!keys) return store_failed();
    std::vector<uint64_t> ids;
    for (const std::string& k : *keys) {
        if (auto id = number(std::string_view(k).substr(PREFIX.size()))) ids.push_back(*id);
    }
    std::sort(ids.begin(), ids.end());
    auto part = query(req, "name");
    json found = json::array();
    for (uint64_t id : ids) {
        if (found.size() >= limit) break;
        auto raw = store.get(key(id));
        if (!raw && ws::last_error().not_found()) continue;  // deleted meanwhile
        if (!raw) return store_failed();
        json item = json::parse(*raw, nullptr, false);
        if (item.is_discarded()) return error(500, "a stored item is not JSON");
        if (part && item["name"].get<std::string>().find(*part) == std::string::npos) continue;
        found.push_back(std::move(item));
    }
    return reply(200, found);
}

/// The body as a new item's fields, or the error that refuses it.
static std::optional<ws::Response> refuse(const json& body) {
    if (body.is_discarded()) return error(400, "invalid JSON");
    if (!body.is_object()) return error(400, "invalid JSON: expected an object");
    for (const auto& [name, _] : body.items()) {
        if (name != "name" && name != "price_cents" && name != "tags") {
            return error(400, "invalid JSON: unknown field " + name);
        }
    }
    if (!body.contains("name") || !body["name"].is_string()) return error(400, "invalid JSON: name must be a string");
    if (!body.contains("price_cents") || !body["price_cents"].is_number_unsigned()) {
        return error(400, "invalid JSON: price_cents must be a non-negative integer");
    }
    if (body.contains("tags")) {
        const json& tags = body["tags"];
        if (!tags.is_array() || !std::all_of(tags.begin(), tags.end(), [](const json& t) { return t.is_string(); })) {
            return error(400, "invalid JSON: tags must be an array of strings");
        }
    }
    const std::string& name = body["name"].get_ref<const std::string&>();
    if (name.size() > 100 || name.find_first_not_of(" \t\r\n") == std::string::npos) {
        return error(422, "name must be 1 to 100 characters");
    }
    return std::nullopt;
}

static ws::Response create(const ws::Request& req) {
    json body = json::parse(req.body(), nullptr, false);
    if (auto refused = refuse(body)) return std::move(*refused);
    auto id = store.incr("next-id");
    if (!id) return store_failed();
    json item = {{"id", *id},
                 {"name", body["name"]},
                 {"price_cents", body["price_cents"]},
                 {"tags", body.value("tags", json::array())}};
    if (!store.set(key(static_cast<uint64_t>(*id)), item.dump())) return store_failed();
    ws::log_info("created item " + std::to_string(*id));
    std::cout << "item " << *id << " is " << item["name"] << std::endl;  // stdout reaches the server log too
    return reply(201, item).header("location", std::string(req.base()) + "/items/" + std::to_string(*id));
}

/// The item named by the {id} parameter: its id, or the 404 answer.
static std::optional<uint64_t> item_id(const ws::Request& req) { return number(req.param("id").value_or("")); }

static ws::Response show(const ws::Request& req) {
    auto id = item_id(req);
    if (!id) return error(404, "no item \"" + std::string(*req.param("id")) + "\"");
    auto raw = store.get(key(*id));
    if (!raw && ws::last_error().not_found()) return error(404, "no item " + std::to_string(*id));
    if (!raw) return store_failed();
    return ws::Response::json(200, *raw);
}

static ws::Response erase(const ws::Request& req) {
    auto id = item_id(req);
    if (!id) return error(404, "no item \"" + std::string(*req.param("id")) + "\"");
    auto there = store.exists(key(*id));
    if (!there) return store_failed();
    if (!*there) return error(404, "no item " + std::to_string(*id));
    if (!store.remove(key(*id))) return store_failed();
    std::cerr << "deleted item " << *id << "\n";  // and so does stderr
    return ws::Response(204);
}

static const ws::Router app = ws::Router()
    .get("/items", list)
    .post("/items", create)
    .get("/items/{id}", show)
    .del("/items/{id}", erase)
    .not_found([](const ws::Request& req) { return error(404, "no route for " + std::string(req.path_info())); });

WASM_SERVER_SERVE(app)
