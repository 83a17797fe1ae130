// Host↔guest call overhead on V8 (WebAssembly directly), the peer of
// benchmarks/calls.py:  node benchmarks/calls.mjs MODULE.wasm N
// Prints {"host_to_guest_us": …, "guest_to_host_us": …} (best of 5 batches).
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
const n = Number(nArg || 1000000);
const module = new WebAssembly.Module(readFileSync(file));
const { exports } = new WebAssembly.Instance(module, {
  wasm_server: { result_read: (_ptr, _len) => 0 },
});

function best(fn) {
  fn(); // warm-up (tier-up)
  let min = Infinity;
  for (let b = 0; b < 5; b++) {
    const t0 = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  return min;
}

const nop = exports.nop;
const h2g = best(() => { for (let i = 0; i < n; i++) nop(); });
const g2h = best(() => exports.call_host(n));
console.log(JSON.stringify({ host_to_guest_us: h2g, guest_to_host_us: g2h }));
