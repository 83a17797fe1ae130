// The ABI v1 encodings (docs/abi.md, "Encodings"): little-endian u32 lengths
// and counts, byte strings copied in and out of managed memory.

/** Reads a request encoding (or any encoding) from raw memory, bounds-checked. */
export class Reader {
  pos: usize;
  end: usize;
  ok: bool = true;

  constructor(ptr: usize, len: usize) {
    this.pos = ptr;
    this.end = ptr + len;
  }

  u32(): u32 {
    if (this.pos + 4 > this.end) { this.ok = false; return 0; }
    const v = load<u32>(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const n = <usize>this.u32();
    if (!this.ok || this.pos + n > this.end) { this.ok = false; return new Uint8Array(0); }
    const out = new Uint8Array(<i32>n);
    memory.copy(out.dataStart, this.pos, n);
    this.pos += n;
    return out;
  }

  str(): string {
    const n = <usize>this.u32();
    if (!this.ok || this.pos + n > this.end) { this.ok = false; return ""; }
    const s = String.UTF8.decodeUnsafe(this.pos, n);
    this.pos += n;
    return s;
  }
}

/** Builds an encoding in a growable buffer. */
export class Writer {
  buf: Uint8Array;
  len: i32 = 0;

  constructor(capacity: i32 = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private reserve(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let size = max(this.buf.length * 2, 64);
    while (size < this.len + n) size *= 2;
    const grown = new Uint8Array(size);
    memory.copy(grown.dataStart, this.buf.dataStart, <usize>this.len);
    this.buf = grown;
  }

  /**
   * Start over with room for exactly `size` bytes: one allocation per encoding, and
   * a buffer kept across events (the response's) shrinks again after a big one.
   */
  reset(size: i32): Writer {
    this.len = 0;
    const cap = this.buf.length;
    if (size > cap || (cap > 65536 && size < cap >> 2)) this.buf = new Uint8Array(size);
    return this;
  }

  /** The encoded size of a str or bytes of `n` bytes. */
  static sized(n: i32): i32 {
    return 4 + n;
  }

  /** The encoded size of `s` as a str. */
  static strSize(s: string): i32 {
    return 4 + String.UTF8.byteLength(s);
  }

  u32(v: u32): Writer {
    this.reserve(4);
    store<u32>(this.buf.dataStart + <usize>this.len, v);
    this.len += 4;
    return this;
  }

  raw(ptr: usize, n: i32): Writer {
    this.u32(<u32>n);
    this.reserve(n);
    memory.copy(this.buf.dataStart + <usize>this.len, ptr, <usize>n);
    this.len += n;
    return this;
  }

  bytes(b: Uint8Array): Writer {
    return this.raw(b.dataStart, b.length);
  }

  str(s: string): Writer {
    const n = String.UTF8.byteLength(s);
    this.u32(<u32>n);
    this.reserve(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.buf.dataStart + <usize>this.len);
    this.len += n;
    return this;
  }

  /** The encoded bytes (a view of the buffer). */
  done(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * A header list like the Fetch API's: names and values in order, duplicates kept,
 * lookups case-insensitive. Request headers arrive with lower-case names.
 */
export class Headers {
  names: string[] = [];
  values: string[] = [];

  /** Every value of `name` joined with ", " (as Fetch does), or null when there is none. */
  get(name: string): string | null {
    const want = name.toLowerCase();
    let found: string | null = null;
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i].toLowerCase() != want) continue;
      found = found == null ? this.values[i] : <string>found + ", " + this.values[i];
    }
    return found;
  }

  /** Every value of `name`, in order (for set-cookie, which does not join). */
  getAll(name: string): string[] {
    const want = name.toLowerCase();
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i].toLowerCase() == want) out.push(this.values[i]);
    }
    return out;
  }

  has(name: string): bool {
    const want = name.toLowerCase();
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i].toLowerCase() == want) return true;
    }
    return false;
  }

  /** [name, value] pairs in order (Fetch's entries(), as an array: AssemblyScript has no iterators). */
  entries(): string[][] {
    const out: string[][] = [];
    for (let i = 0; i < this.names.length; i++) out.push([this.names[i], this.values[i]]);
    return out;
  }

  /** Add a header (duplicates allowed). */
  append(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  /** Replace every `name` header with one. */
  set(name: string, value: string): void {
    this.delete(name);
    this.append(name, value);
  }

  delete(name: string): void {
    const want = name.toLowerCase();
    const names: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i].toLowerCase() != want) {
        names.push(this.names[i]);
        values.push(this.values[i]);
      }
    }
    this.names = names;
    this.values = values;
  }

  get size(): i32 {
    return this.names.length;
  }

  static decode(r: Reader): Headers {
    const h = new Headers();
    const n = r.u32();
    for (let i: u32 = 0; i < n && r.ok; i++) {
      const name = r.str();
      h.append(name, r.str());
    }
    return h;
  }

  /** The size of this list's pair-list encoding. */
  encodedSize(): i32 {
    let n = 4;
    for (let i = 0; i < this.names.length; i++) n += Writer.strSize(this.names[i]) + Writer.strSize(this.values[i]);
    return n;
  }

  encode(w: Writer): void {
    w.u32(<u32>this.names.length);
    for (let i = 0; i < this.names.length; i++) w.str(this.names[i]).str(this.values[i]);
  }
}

/** An inbound HTTP request (docs/abi.md, "Request encoding"). */
export class Request {
  flags: u32 = 0;
  method: string = "GET";
  url: string = "/";
  route: string = "";
  base: string = "";
  pathInfo: string = "";
  client: string = "";
  params: Headers = new Headers();
  headers: Headers = new Headers();
  body: Uint8Array = new Uint8Array(0);

  /** The path part of the URL (before "?"). */
  get path(): string {
    const q = this.url.indexOf("?");
    return q < 0 ? this.url : this.url.substring(0, q);
  }

  /** The query part of the URL (after "?", "" if none). */
  get query(): string {
    const q = this.url.indexOf("?");
    return q < 0 ? "" : this.url.substring(q + 1);
  }

  /** Route parameter `name` ("/users/{id}" → param("id")), or null. */
  param(name: string): string | null {
    return this.params.get(name);
  }

  /** The body as UTF-8 text. */
  text(): string {
    return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.length);
  }

  /** The body as an ArrayBuffer (a copy). */
  arrayBuffer(): ArrayBuffer {
    return this.body.slice().buffer;
  }

  static decode(ptr: usize, len: usize): Request | null {
    const r = new Reader(ptr, len);
    const req = new Request();
    req.flags = r.u32();
    req.method = r.str();
    req.url = r.str();
    req.route = r.str();
    req.base = r.str();
    req.pathInfo = r.str();
    req.client = r.str();
    req.params = Headers.decode(r);
    req.headers = Headers.decode(r);
    req.body = r.bytes();
    return r.ok ? req : null;
  }

  encode(): Uint8Array {
    const size = 4 + Writer.strSize(this.method) + Writer.strSize(this.url) + Writer.strSize(this.route) +
      Writer.strSize(this.base) + Writer.strSize(this.pathInfo) + Writer.strSize(this.client) +
      this.params.encodedSize() + this.headers.encodedSize() + Writer.sized(this.body.length);
    const w = new Writer(size);
    w.u32(this.flags).str(this.method).str(this.url).str(this.route).str(this.base).str(this.pathInfo).str(this.client);
    this.params.encode(w);
    this.headers.encode(w);
    return w.bytes(this.body).done();
  }
}

/**
 * An HTTP response, shaped like the Fetch API's where AssemblyScript allows:
 * `new Response(text, status, headers)`; bytes through Response.bytes (AssemblyScript
 * has no `string | Uint8Array` parameters).
 */
export class Response {
  status: i32;
  headers: Headers;
  body: Uint8Array;
  flags: u32 = 0;

  /** A response with a UTF-8 text body (no content type unless `headers` has one: see Response.text). */
  constructor(body: string = "", status: i32 = 200, headers: Headers | null = null) {
    this.status = status;
    this.headers = headers == null ? new Headers() : <Headers>headers;
    this.body = Uint8Array.wrap(String.UTF8.encode(body));
  }

  /** text/plain; charset=utf-8 */
  static text(body: string, status: i32 = 200): Response {
    return new Response(body, status).header("content-type", "text/plain; charset=utf-8");
  }

  /** application/json (the body is sent as given: build it yourself, there is no JSON.stringify). */
  static json(body: string, status: i32 = 200): Response {
    return new Response(body, status).header("content-type", "application/json");
  }

  /** A binary body (not copied). */
  static bytes(body: Uint8Array, status: i32 = 200, headers: Headers | null = null): Response {
    const res = new Response("", status, headers);
    res.body = body;
    return res;
  }

  /** A redirect to `url` (Fetch's Response.redirect). */
  static redirect(url: string, status: i32 = 302): Response {
    return new Response("", status).header("location", url);
  }

  /** Add a header and return this response (chainable). */
  header(name: string, value: string): Response {
    this.headers.append(name, value);
    return this;
  }

  /** The body as UTF-8 text. */
  text(): string {
    return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.length);
  }

  /** The body as an ArrayBuffer (a copy). */
  arrayBuffer(): ArrayBuffer {
    return this.body.slice().buffer;
  }

  get ok(): bool {
    return this.status >= 200 && this.status < 300;
  }

  /** The response encoding, written into `w` from its start (sized exactly: one allocation at most). */
  encode(w: Writer): Uint8Array {
    w.reset(8 + this.headers.encodedSize() + Writer.sized(this.body.length));
    w.u32(<u32>this.status).u32(this.flags);
    this.headers.encode(w);
    return w.bytes(this.body).done();
  }

  static decode(ptr: usize, len: usize): Response | null {
    const r = new Reader(ptr, len);
    const status = r.u32();
    const flags = r.u32();
    const headers = Headers.decode(r);
    const body = r.bytes();
    if (!r.ok || r.pos != r.end) return null;
    const res = Response.bytes(body, <i32>status);
    res.flags = flags;
    res.headers = headers;
    return res;
  }
}
