// A persistent counter in the KV store: POST increments, GET reads.
// Any path works: the manifest decides where the counter lives.
import { get, incr } from "wasm-server:host/kv@0.1.0";

addEventListener("fetch", (event) => event.respondWith(counter(event.request)));

const STORE = "default";
const KEY = "counter";
const PLAIN = { "content-type": "text/plain; charset=utf-8" };

function counter(request) {
  try {
    if (request.method === "POST") return new Response(`${incr(STORE, KEY, 1n)}\n`, { headers: PLAIN });
    if (request.method === "GET" || request.method === "HEAD") {
      const value = get(STORE, KEY); // a Uint8Array, or undefined when the key is absent
      return new Response(`${value ? new TextDecoder().decode(value) : "0"}\n`, { headers: PLAIN });
    }
  } catch (err) {
    // wasm-server:host/types.error arrives as the thrown value's payload: { tag: "io", val: "…" }
    console.error(`the counter failed: ${JSON.stringify(err?.payload ?? String(err))}`);
    return new Response("the counter is unavailable\n", { status: 503, headers: PLAIN });
  }
  return new Response("use GET or POST\n", { status: 405, headers: { ...PLAIN, allow: "GET, POST" } });
}
