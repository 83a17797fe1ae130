;; A wasi:http hello with no language runtime: answers every request with
;; "Hello from C\npath: <path>\n" (the bytes examples/hello/c sends), with
;; content-type and content-length headers. Built into a component by
;; benchmarks/wasi_http_hello.py (see README.md); imports use the canonical
;; ABI's (legacy) core names for wasi:http@0.2.0 / wasi:io@0.2.0.
(module
  (import "wasi:http/types@0.2.0" "[static]fields.from-list"
    (func $fields_from_list (param i32 i32 i32)))
  (import "wasi:http/types@0.2.0" "[method]incoming-request.path-with-query"
    (func $path_with_query (param i32 i32)))
  (import "wasi:http/types@0.2.0" "[resource-drop]incoming-request"
    (func $drop_request (param i32)))
  (import "wasi:http/types@0.2.0" "[constructor]outgoing-response"
    (func $new_response (param i32) (result i32)))
  (import "wasi:http/types@0.2.0" "[method]outgoing-response.body"
    (func $response_body (param i32 i32)))
  (import "wasi:http/types@0.2.0" "[method]outgoing-body.write"
    (func $body_write (param i32 i32)))
  (import "wasi:http/types@0.2.0" "[static]outgoing-body.finish"
    (func $body_finish (param i32 i32 i32 i32)))
  ;; (param, result discriminant, then the flattened ok/error-code payload)
  (import "wasi:http/types@0.2.0" "[static]response-outparam.set"
    (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.0" "[method]output-stream.blocking-write-and-flush"
    (func $write_and_flush (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.0" "[resource-drop]output-stream"
    (func $drop_stream (param i32)))

  ;; 0..16 unused, 16..128 return area, 128..160 header list (2 entries),
  ;; 160.. header names/values, 256 greeting, 320 content-length digits,
  ;; 1024.. response body, 8192.. cabi_realloc heap (reset per request).
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 128) "\a0\00\00\00\0c\00\00\00\b0\00\00\00\19\00\00\00")
  (data (i32.const 144) "\d0\00\00\00\0e\00\00\00\40\01\00\00\00\00\00\00")
  (data (i32.const 160) "content-type")
  (data (i32.const 176) "text/plain; charset=utf-8")
  (data (i32.const 208) "content-length")
  (data (i32.const 256) "Hello from C\0apath: ")

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (unreachable)))
    (local.get $p))

  ;; Writes the decimal digits of $n at 320 and stores their count in the
  ;; header list's second value length.
  (func $content_length (param $n i32)
    (local $digits i32) (local $i i32) (local $m i32)
    (local.set $m (local.get $n))
    (loop $count
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (local.set $m (i32.div_u (local.get $m) (i32.const 10)))
      (br_if $count (local.get $m)))
    (local.set $i (local.get $digits))
    (loop $emit
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (i32.const 320) (local.get $i))
                  (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $emit (local.get $i)))
    (i32.store (i32.const 156) (local.get $digits)))

  (func (export "wasi:http/incoming-handler@0.2.0#handle") (param $req i32) (param $out i32)
    (local $path i32) (local $plen i32) (local $len i32) (local $c i32)
    (local $response i32) (local $body i32) (local $stream i32)
    (global.set $heap (i32.const 8192))
    ;; option<string>: discriminant at 16, pointer at 20, length at 24
    (call $path_with_query (local.get $req) (i32.const 16))
    (if (i32.load8_u (i32.const 16))
      (then (local.set $path (i32.load (i32.const 20)))
            (local.set $plen (i32.load (i32.const 24)))))
    (call $drop_request (local.get $req))
    (memory.copy (i32.const 1024) (i32.const 256) (i32.const 19))
    (local.set $len (i32.const 19))
    (block $done
      (loop $copy
        (br_if $done (i32.eqz (local.get $plen)))
        (local.set $c (i32.load8_u (local.get $path)))
        (br_if $done (i32.eq (local.get $c) (i32.const 63)))  ;; '?'
        (i32.store8 (i32.add (i32.const 1024) (local.get $len)) (local.get $c))
        (local.set $len (i32.add (local.get $len) (i32.const 1)))
        (local.set $path (i32.add (local.get $path) (i32.const 1)))
        (local.set $plen (i32.sub (local.get $plen) (i32.const 1)))
        (br $copy)))
    (if (i32.eq (local.get $len) (i32.const 19))  ;; no path: "/"
      (then (i32.store8 (i32.const 1043) (i32.const 47))
            (local.set $len (i32.const 20))))
    (i32.store8 (i32.add (i32.const 1024) (local.get $len)) (i32.const 10))
    (local.set $len (i32.add (local.get $len) (i32.const 1)))
    (call $content_length (local.get $len))
    ;; result<fields, header-error>: discriminant at 16, handle at 20
    (call $fields_from_list (i32.const 128) (i32.const 2) (i32.const 16))
    (if (i32.load8_u (i32.const 16)) (then (unreachable)))
    (local.set $response (call $new_response (i32.load (i32.const 20))))
    (call $response_body (local.get $response) (i32.const 16))
    (if (i32.load8_u (i32.const 16)) (then (unreachable)))
    (local.set $body (i32.load (i32.const 20)))
    (call $body_write (local.get $body) (i32.const 16))
    (if (i32.load8_u (i32.const 16)) (then (unreachable)))
    (local.set $stream (i32.load (i32.const 20)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
                        (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (call $write_and_flush (local.get $stream) (i32.const 1024) (local.get $len) (i32.const 16))
    (if (i32.load8_u (i32.const 16)) (then (unreachable)))
    (call $drop_stream (local.get $stream))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 16))
    (if (i32.load8_u (i32.const 16)) (then (unreachable))))
)
