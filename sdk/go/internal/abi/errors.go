package abi

import "errors"

// The error codes of host calls (docs/abi.md, "Error codes").
const (
	CodeNotFound = -1
	CodeDenied   = -2
	CodeTooLarge = -3
	CodeInvalid  = -4
	CodeIO       = -5
	CodeTimeout  = -6
)

// The sentinel errors, one per code: match them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrDenied   = errors.New("denied")
	ErrTooLarge = errors.New("too large")
	ErrInvalid  = errors.New("invalid")
	ErrIO       = errors.New("i/o failure")
	ErrTimeout  = errors.New("timed out")
)

var sentinels = map[int32]error{
	CodeNotFound: ErrNotFound, CodeDenied: ErrDenied, CodeTooLarge: ErrTooLarge,
	CodeInvalid: ErrInvalid, CodeIO: ErrIO, CodeTimeout: ErrTimeout,
}

// Error is a failed host call: its code and the host's message.
// errors.Is(err, ErrDenied) and the like match it by code.
type Error struct {
	Op      string // the host import, e.g. "kv_get"
	Code    int32
	Message string
}

func (e *Error) Error() string {
	what := "error"
	if s := sentinels[e.Code]; s != nil {
		what = s.Error()
	}
	msg := "wasm-server " + e.Op + ": " + what
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap gives the sentinel error of the code (nil for an unknown code).
func (e *Error) Unwrap() error { return sentinels[e.Code] }

// Timeout reports whether the call timed out (so net.Error-style checks work).
func (e *Error) Timeout() bool { return e.Code == CodeTimeout }

// Temporary is false: the host does not say.
func (e *Error) Temporary() bool { return false }
