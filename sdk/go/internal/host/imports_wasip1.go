//go:build wasip1

package host

import "unsafe"

// The raw imports of docs/abi.md ("Host imports", module wasm_server).

//go:wasmimport wasm_server result_read
func resultRead(ptr unsafe.Pointer, n int32) int32

//go:wasmimport wasm_server log
func logLine(level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport wasm_server var_get
func varGet(name unsafe.Pointer, nameLen int32) int64

//go:wasmimport wasm_server kv_get
func kvGet(s unsafe.Pointer, sl int32, k unsafe.Pointer, kl int32) int64

//go:wasmimport wasm_server kv_set
func kvSet(s unsafe.Pointer, sl int32, k unsafe.Pointer, kl int32, v unsafe.Pointer, vl int32) int32

//go:wasmimport wasm_server kv_delete
func kvDelete(s unsafe.Pointer, sl int32, k unsafe.Pointer, kl int32) int32

//go:wasmimport wasm_server kv_exists
func kvExists(s unsafe.Pointer, sl int32, k unsafe.Pointer, kl int32) int32

//go:wasmimport wasm_server kv_keys
func kvKeys(s unsafe.Pointer, sl int32, p unsafe.Pointer, pl int32) int64

//go:wasmimport wasm_server kv_incr
func kvIncr(s unsafe.Pointer, sl int32, k unsafe.Pointer, kl int32, delta int64, out unsafe.Pointer) int32

//go:wasmimport wasm_server http_send
func httpSend(req unsafe.Pointer, n int32) int64

//go:wasmimport wasm_server conn_send
func connSend(conn int32, p unsafe.Pointer, n int32) int32

//go:wasmimport wasm_server ws_send
func wsSend(conn int32, flags int32, p unsafe.Pointer, n int32) int32

//go:wasmimport wasm_server conn_close
func connClose(conn int32, code int32, reason unsafe.Pointer, n int32) int32

//go:wasmimport wasm_server conn_peer
func connPeer(conn int32) int64

//go:wasmimport wasm_server udp_send
func udpSend(sock int32, peer unsafe.Pointer, pl int32, data unsafe.Pointer, dl int32) int32

//go:wasmimport wasm_server publish
func publish(ch unsafe.Pointer, cl int32, data unsafe.Pointer, dl int32) int32

//go:wasmimport wasm_server subscribe
func subscribe(conn int32, ch unsafe.Pointer, cl int32) int32

//go:wasmimport wasm_server sleep_ms
func sleepMs(ms int32) int32

//go:wasmimport wasm_server stream_start
func streamStart(head unsafe.Pointer, n int32) int32

//go:wasmimport wasm_server stream_write
func streamWrite(p unsafe.Pointer, n int32) int32

//go:wasmimport wasm_server tcp_connect
func tcpConnect(h unsafe.Pointer, hl int32, port int32) int64

//go:wasmimport wasm_server udp_connect
func udpConnect(h unsafe.Pointer, hl int32, port int32) int64

//go:wasmimport wasm_server sock_send
func sockSend(sock int32, p unsafe.Pointer, n int32) int32

//go:wasmimport wasm_server sock_recv
func sockRecv(sock int32, max int32, timeoutMs int32) int64

//go:wasmimport wasm_server sock_close
func sockClose(sock int32) int32

//go:wasmimport wasm_server wake_after
func wakeAfter(ms int32) int32

//go:wasmimport wasm_server udp_listeners
func udpListeners() int64
