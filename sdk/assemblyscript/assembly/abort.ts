// `abort` for asc's --use abort=…: the message goes to the server log, then the guest traps.
// It allocates nothing and touches no module state, so it works even when the heap or the
// runtime is what failed (and cannot recurse).

import * as host from "./host";

function put(buf: usize, at: i32, s: string | null): i32 {
  if (s == null) return at;
  const text = <string>s;
  for (let i = 0; i < text.length && at < 500; i++) {
    const c = text.charCodeAt(i);
    store<u8>(buf + <usize>at, <u8>(c < 128 ? c : 63));
    at++;
  }
  return at;
}

function putNumber(buf: usize, at: i32, n: u32): i32 {
  let digits: u32 = 1;
  for (let v = n; v >= 10; v /= 10) digits++;
  for (let i: u32 = 0; i < digits; i++) {
    store<u8>(buf + <usize>(at + <i32>(digits - 1 - i)), <u8>(48 + n % 10));
    n /= 10;
  }
  return at + <i32>digits;
}

export function wasm_server_abort(message: string | null, file: string | null, line: u32, column: u32): void {
  const buf = memory.data(512);
  let at = put(buf, 0, "abort: ");
  at = put(buf, at, message);
  at = put(buf, at, " at ");
  at = put(buf, at, file);
  at = put(buf, at, ":");
  at = putNumber(buf, at, line);
  host.log(4, buf, at);
  unreachable();
}

/** `trace` for asc's --use trace=…: a debug line in the server log. */
export function wasm_server_trace(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0,
                                  a4: f64 = 0): void {
  let line = "trace: " + message;
  if (n > 0) line += " " + a0.toString();
  if (n > 1) line += ", " + a1.toString();
  if (n > 2) line += ", " + a2.toString();
  if (n > 3) line += ", " + a3.toString();
  if (n > 4) line += ", " + a4.toString();
  const b = String.UTF8.encode(line);
  host.log(1, changetype<usize>(b), b.byteLength);
}

/** `seed` for asc's --use seed=… (Math.random): 8 random bytes from WASI's random_get. */
export function wasm_server_seed(): f64 {
  const buf = memory.data(8);
  host.random_get(buf, 8);
  return reinterpret<f64>(load<u64>(buf) | 1);
}
