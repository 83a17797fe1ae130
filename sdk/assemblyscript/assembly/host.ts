// The wasm-server imports (docs/abi.md, "Host imports"). Pointers are usize (i32 on wasm32).

@external("wasm_server", "result_read") export declare function result_read(ptr: usize, len: i32): i32;
@external("wasm_server", "log") export declare function log(level: i32, ptr: usize, len: i32): void;
@external("wasm_server", "var_get") export declare function var_get(ptr: usize, len: i32): i64;
@external("wasm_server", "kv_get") export declare function kv_get(sp: usize, sl: i32, kp: usize, kl: i32): i64;
@external("wasm_server", "kv_set") export declare function kv_set(sp: usize, sl: i32, kp: usize, kl: i32, vp: usize, vl: i32): i32;
@external("wasm_server", "kv_delete") export declare function kv_delete(sp: usize, sl: i32, kp: usize, kl: i32): i32;
@external("wasm_server", "kv_exists") export declare function kv_exists(sp: usize, sl: i32, kp: usize, kl: i32): i32;
@external("wasm_server", "kv_keys") export declare function kv_keys(sp: usize, sl: i32, pp: usize, pl: i32): i64;
@external("wasm_server", "kv_incr") export declare function kv_incr(sp: usize, sl: i32, kp: usize, kl: i32, delta: i64, out: usize): i32;
@external("wasm_server", "http_send") export declare function http_send(ptr: usize, len: i32): i64;
@external("wasm_server", "conn_send") export declare function conn_send(conn: u32, ptr: usize, len: i32): i32;
@external("wasm_server", "ws_send") export declare function ws_send(conn: u32, flags: i32, ptr: usize, len: i32): i32;
@external("wasm_server", "conn_close") export declare function conn_close(conn: u32, code: i32, ptr: usize, len: i32): i32;
@external("wasm_server", "conn_peer") export declare function conn_peer(conn: u32): i64;
@external("wasm_server", "udp_send") export declare function udp_send(sock: u32, pp: usize, pl: i32, dp: usize, dl: i32): i32;
@external("wasm_server", "publish") export declare function publish(cp: usize, cl: i32, dp: usize, dl: i32): i32;
@external("wasm_server", "subscribe") export declare function subscribe(conn: u32, cp: usize, cl: i32): i32;
@external("wasm_server", "sleep_ms") export declare function sleep_ms(ms: i32): i32;

// WASI, which the host links for every module: random bytes for Math.random's seed.
@external("wasi_snapshot_preview1", "random_get") export declare function random_get(ptr: usize, len: usize): u16;
@external("wasi_snapshot_preview1", "clock_time_get") export declare function clock_time_get(id: u32, precision: u64, out: usize): u16;

// streaming responses and outbound sockets
@external("wasm_server", "stream_start") export declare function stream_start(ptr: usize, len: i32): i32;
@external("wasm_server", "stream_write") export declare function stream_write(ptr: usize, len: i32): i32;
@external("wasm_server", "tcp_connect") export declare function tcp_connect(hp: usize, hl: i32, port: i32): i64;
@external("wasm_server", "udp_connect") export declare function udp_connect(hp: usize, hl: i32, port: i32): i64;
@external("wasm_server", "sock_send") export declare function sock_send(sock: i32, ptr: usize, len: i32): i32;
@external("wasm_server", "sock_recv") export declare function sock_recv(sock: i32, max: i32, timeout_ms: i32): i64;
@external("wasm_server", "sock_close") export declare function sock_close(sock: i32): i32;
