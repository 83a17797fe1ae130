//go:build wasip1

package wasmserver

import (
	"log/slog"
	"unsafe"

	"github.com/wasm-server/wasm-server/sdk/go/outbound"
)

// Under wasm-server, http.Get & co. go through the host, and slog and the
// log package write to the server log.
func init() {
	outbound.Install()
	slog.SetDefault(slog.New(NewLogHandler(nil)))
}

func addr(b []byte) int32 { return int32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

var (
	// payloads the host asked for with wasm_server_alloc, until wasm_server_handle takes them
	allocated = map[int32][]byte{}
	// the reusable request buffer (wasm_server_request_buffer)
	requestBuffer []byte
	// the previous response: it must stay valid until the next call into the guest
	lastResponse []byte
)

//go:wasmexport wasm_server_abi_version
func wasmServerABIVersion() int32 { return ABIVersion }

//go:wasmexport wasm_server_alloc
func wasmServerAlloc(size int32) int32 {
	buf := make([]byte, max(size, 1))
	p := addr(buf)
	allocated[p] = buf
	return p
}

//go:wasmexport wasm_server_request_buffer
func wasmServerRequestBuffer(size int32) int32 {
	if int(size) > len(requestBuffer) || requestBuffer == nil {
		requestBuffer = make([]byte, max(size, 1))
	}
	return addr(requestBuffer)
}

//go:wasmexport wasm_server_handle
func wasmServerHandle(kind, ptr, n int32) int64 {
	runMain()
	lastResponse = nil // the host has copied it by now
	var payload []byte
	if buf, ok := allocated[ptr]; ok {
		delete(allocated, ptr)
		payload = buf
	} else if requestBuffer != nil && ptr == addr(requestBuffer) {
		payload = requestBuffer
	} else {
		return rcMalformed
	}
	if n < 0 || int(n) > len(payload) {
		return rcMalformed
	}
	resp, rc := dispatch(kind, payload[:n])
	if kind != kindHTTPRequest && settleHook != nil {
		settleHook() // goroutines this event woke run before it returns (settle.go)
	}
	if resp == nil {
		return rc
	}
	lastResponse = resp
	return int64(uint32(addr(resp)))<<32 | int64(uint32(len(resp)))
}

// A reactor (-buildmode=c-shared) runs package initialisation in _initialize
// but never main.main, so the SDK runs the program's main before the first
// event: services register their handlers in main as usual (main must return).
//
//go:linkname mainMain main.main
func mainMain()

var mainRan bool

// wasm_server_init: the host calls it once after _initialize when it
// pre-initialises the module (`preinit`), so the snapshot has main's
// handlers registered and a fresh instance does not run main again.
//
//go:wasmexport wasm_server_init
func wasmServerInit() { runMain() }

func runMain() {
	if !mainRan {
		mainRan = true
		mainMain()
		// goroutines main started (a server loop that calls ListenPacket and blocks in
		// ReadFrom) run until they block, so what they set up exists before the first event
		drain()
	}
}
