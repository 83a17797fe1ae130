package wasmserver

import (
	"os"
	"sync"
	"time"
)

// queue is what the SDK's sockets block on: items delivered by events, read
// by goroutines, with a read deadline and a close. Waiting is a select on
// channels and a runtime timer (never a loop); settle knows every waiter and
// its deadline, so the host wakes the guest when that deadline is due.
type queue[T any] struct {
	mu       sync.Mutex
	items    []T
	max      int // items beyond it are dropped (dropped counts them)
	dropped  int
	notify   chan struct{} // one token: something changed (an item, a new deadline)
	done     chan struct{} // closed by close
	closed   bool
	deadline time.Time
}

func newQueue[T any](max int) *queue[T] {
	return &queue[T]{max: max, notify: make(chan struct{}, 1), done: make(chan struct{})}
}

func (q *queue[T]) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// put adds an item; false (and the item dropped) when the queue is full or closed.
func (q *queue[T]) put(v T) bool {
	q.mu.Lock()
	ok := !q.closed && len(q.items) < q.max
	if ok {
		q.items = append(q.items, v)
	} else {
		q.dropped++
	}
	q.mu.Unlock()
	if ok {
		q.wake()
	}
	return ok
}

// setDeadline sets the read deadline; blocked readers see it at once.
func (q *queue[T]) setDeadline(t time.Time) {
	q.mu.Lock()
	q.deadline = t
	q.mu.Unlock()
	q.wake()
}

func (q *queue[T]) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
}

// errClosed is returned by get on a closed queue; the socket turns it into its own error.
var errClosed = os.ErrClosed

// get takes the oldest item, waiting for one until the read deadline:
// os.ErrDeadlineExceeded after it, errClosed once closed and empty.
func (q *queue[T]) get() (T, error) {
	var zero T
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			v := q.items[0]
			var z T
			q.items[0] = z
			q.items = q.items[1:]
			more := len(q.items) > 0
			q.mu.Unlock()
			if more {
				q.wake() // another reader may be waiting
			}
			return v, nil
		}
		closed, dl := q.closed, q.deadline
		q.mu.Unlock()
		if closed {
			return zero, errClosed
		}
		if !dl.IsZero() && !time.Now().Before(dl) {
			return zero, os.ErrDeadlineExceeded
		}
		q.wait(dl)
	}
}

func (q *queue[T]) wait(dl time.Time) {
	done := blocked(dl)
	defer done()
	if dl.IsZero() {
		select {
		case <-q.notify:
		case <-q.done:
		}
		return
	}
	t := time.NewTimer(time.Until(dl))
	defer t.Stop()
	select {
	case <-q.notify:
	case <-q.done:
	case <-t.C:
	}
}
