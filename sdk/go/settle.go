package wasmserver

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// Goroutines and timers between events.
//
// The host calls the guest once per event (a datagram, a connection's data),
// and Go's wasip1 runtime runs only while an export runs: when the export
// returns, goroutines that became runnable (the one blocked in ReadFrom that
// this datagram woke) have not run yet, and a timer that falls due while no
// export runs (a retransmit, a read deadline) fires only at the next call.
// So once the SDK's sockets are in use, every connection and UDP event ends
// with settle: it yields until no goroutine is runnable any more, then asks
// the host for a TIMER event (wake_after) when the next deadline it knows of
// is due. Nothing here waits: the host queues the TIMER event with the
// instance's other events, and each runs under the component's deadline.
//
// The runtime's timer heap is not visible to a program, so timers the SDK
// does not own (time.AfterFunc, a select on time.After in a library) are
// covered by a tick: while any goroutine is blocked other than in the SDK's
// own queues without a deadline, the guest is woken every TimerTick.

// TimerTick is how often a guest whose goroutines may be waiting on timers is
// woken between events (default 10 ms; 0: never, only for the SDK's own
// deadlines). Set it in main.
var TimerTick = 10 * time.Millisecond

// settleHook is set once ListenPacket or Listen is used: guests that only
// handle events with callbacks keep their old behaviour and import set.
var settleHook func()

// maxYields bounds one settle: a goroutine that yields forever cannot keep an
// event running past this (and the host's deadline ends it anyway).
const maxYields = 10000

var runnableSample = []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}

// runnable is the number of runnable goroutines, or -1 where the runtime does
// not report it (Go < 1.26).
func runnable() int {
	metrics.Read(runnableSample)
	if runnableSample[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	return int(runnableSample[0].Value.Uint64())
}

// waits counts the goroutines blocked in the SDK's queues and their deadlines.
var waits struct {
	sync.Mutex
	forever   int                   // blocked with no deadline (a datagram or a close wakes them)
	deadlines map[*waiter]time.Time // blocked until a deadline at the latest
}

type waiter struct{}

// blocked registers a goroutine about to block in an SDK queue until dl (zero: no deadline);
// the returned function unregisters it.
func blocked(dl time.Time) func() {
	waits.Lock()
	defer waits.Unlock()
	if dl.IsZero() {
		waits.forever++
		return func() { waits.Lock(); waits.forever--; waits.Unlock() }
	}
	w := &waiter{}
	if waits.deadlines == nil {
		waits.deadlines = map[*waiter]time.Time{}
	}
	waits.deadlines[w] = dl
	return func() { waits.Lock(); delete(waits.deadlines, w); waits.Unlock() }
}

// drain yields until no goroutine is runnable (a few times where the runtime
// cannot tell).
func drain() {
	for i := 0; i < maxYields; i++ {
		runtime.Gosched()
		if n := runnable(); n == 0 || (n < 0 && i >= 3) {
			return
		}
	}
}

// settle runs what is runnable, then asks for the next wake-up (see above).
func settle() {
	drain()
	next := nextWake()
	ms := int32(-1)
	if next >= 0 {
		ms = int32(min(max((next+time.Millisecond-1)/time.Millisecond, 1), 1<<30))
	}
	if ms < 0 && !wakePending {
		return // nothing to cancel: no host call (the common case of a server blocked in ReadFrom)
	}
	wakePending = ms >= 0
	_ = host.WakeAfter(ms)
}

// wakePending: the host holds a wake-up request of this instance (cleared when its TIMER runs).
var wakePending bool

// timerEvent is the TIMER event: the host's request is used up; wasm_server_handle settles.
func timerEvent() int64 {
	if settleHook == nil {
		return rcNotHandled
	}
	wakePending = false
	return 0
}

// nextWake is how long until the guest must run again (-1: not before the next event).
func nextWake() time.Duration {
	waits.Lock()
	defer waits.Unlock()
	next := time.Duration(-1)
	now := time.Now()
	for _, dl := range waits.deadlines {
		if d := dl.Sub(now); next < 0 || d < next {
			next = max(d, 0)
		}
	}
	// the goroutine running this event is one; the others may wait on timers
	others := runtime.NumGoroutine() - 1 - waits.forever - len(waits.deadlines)
	if others > 0 && TimerTick > 0 && (next < 0 || TimerTick < next) {
		next = TimerTick
	}
	return next
}
