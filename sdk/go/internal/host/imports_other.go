//go:build !wasip1

package host

import (
	"fmt"
	"os"
	"unsafe"
)

// Native builds (go test, go vet) have no host: every call fails with IO and
// says why, and log lines go to stderr.

var slot = []byte("not running under wasm-server (build with GOOS=wasip1 GOARCH=wasm)")

func unavailable() int32 { return -5 }

func resultRead(ptr unsafe.Pointer, n int32) int32 {
	if n > 0 {
		copy(unsafe.Slice((*byte)(ptr), n), slot)
	}
	return int32(len(slot))
}

func logLine(level int32, ptr unsafe.Pointer, n int32) {
	fmt.Fprintf(os.Stderr, "[%d] %s\n", level, unsafe.Slice((*byte)(ptr), n))
}

func varGet(unsafe.Pointer, int32) int64                       { return int64(unavailable()) }
func kvGet(unsafe.Pointer, int32, unsafe.Pointer, int32) int64 { return int64(unavailable()) }
func kvSet(unsafe.Pointer, int32, unsafe.Pointer, int32, unsafe.Pointer, int32) int32 {
	return unavailable()
}
func kvDelete(unsafe.Pointer, int32, unsafe.Pointer, int32) int32 { return unavailable() }
func kvExists(unsafe.Pointer, int32, unsafe.Pointer, int32) int32 { return unavailable() }
func kvKeys(unsafe.Pointer, int32, unsafe.Pointer, int32) int64   { return int64(unavailable()) }
func kvIncr(unsafe.Pointer, int32, unsafe.Pointer, int32, int64, unsafe.Pointer) int32 {
	return unavailable()
}
func httpSend(unsafe.Pointer, int32) int64                { return int64(unavailable()) }
func connSend(int32, unsafe.Pointer, int32) int32         { return unavailable() }
func wsSend(int32, int32, unsafe.Pointer, int32) int32    { return unavailable() }
func connClose(int32, int32, unsafe.Pointer, int32) int32 { return unavailable() }
func connPeer(int32) int64                                { return int64(unavailable()) }
func udpSend(int32, unsafe.Pointer, int32, unsafe.Pointer, int32) int32 {
	return unavailable()
}
func publish(unsafe.Pointer, int32, unsafe.Pointer, int32) int32 { return unavailable() }
func subscribe(int32, unsafe.Pointer, int32) int32               { return unavailable() }
func sleepMs(int32) int32                                        { return unavailable() }
func streamStart(unsafe.Pointer, int32) int32                    { return unavailable() }
func streamWrite(unsafe.Pointer, int32) int32                    { return unavailable() }
func tcpConnect(unsafe.Pointer, int32, int32) int64              { return int64(unavailable()) }
func udpConnect(unsafe.Pointer, int32, int32) int64              { return int64(unavailable()) }
func sockSend(int32, unsafe.Pointer, int32) int32                { return unavailable() }
func sockRecv(int32, int32, int32) int64                         { return int64(unavailable()) }
func sockClose(int32) int32                                      { return unavailable() }
func wakeAfter(int32) int32                                      { return unavailable() }
func udpListeners() int64                                        { return int64(unavailable()) }
