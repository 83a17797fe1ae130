package wasmserver

import "github.com/wasm-server/wasm-server/sdk/go/internal/abi"

// Error is a failed host call: the import, its ABI error code and the host's
// message. Match it with errors.Is against the sentinel errors below.
type Error = abi.Error

// The ABI error codes (docs/abi.md) as sentinel errors: errors.Is(err, wasmserver.ErrDenied).
var (
	ErrNotFound = abi.ErrNotFound // -1: key or variable absent
	ErrDenied   = abi.ErrDenied   // -2: store not declared, outbound host not allowed
	ErrTooLarge = abi.ErrTooLarge // -3: value or response over the limit
	ErrInvalid  = abi.ErrInvalid  // -4: malformed arguments
	ErrIO       = abi.ErrIO       // -5: backend or network failure, client gone
	ErrTimeout  = abi.ErrTimeout  // -6: the call took too long
)

// ABIVersion is the version of docs/abi.md this SDK implements.
const ABIVersion = 1
