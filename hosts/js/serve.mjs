#!/usr/bin/env node
// Serve one wasm-server guest over Node's `http` with the JS host:
//
//   node hosts/js/serve.mjs MODULE.wasm [--port 8080] [--host 127.0.0.1] [--fresh]
//
// Every path goes to the guest (route "/..."). One instance is reused for
// every request, like `instance_reuse` in a manifest; --fresh makes a new
// instance per request. A guest that fails answers 500 and is replaced.
// This is the Node.js + V8 peer of the benchmarks, not a production server.

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { GuestModule } from './host.mjs';

function parseArgs(argv) {
  const opts = { port: 8080, host: '127.0.0.1', fresh: false, module: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') opts.port = Number(argv[++i]);
    else if (a === '--host') opts.host = argv[++i];
    else if (a === '--fresh') opts.fresh = true;
    else if (a === '-h' || a === '--help') opts.help = true;
    else opts.module = a;
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.help || !opts.module) {
  console.error('usage: node hosts/js/serve.mjs MODULE.wasm [--port 8080] [--host 127.0.0.1] [--fresh]');
  process.exit(opts.help ? 0 : 2);
}

const guest = await GuestModule.compile(await readFile(opts.module), {
  name: opts.module,
  log: (level, message) => console.error(`${level} ${message}`),
});
let instance = guest.instantiate();

function handle(req, body) {
  const path = req.url.split('?', 1)[0];
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]]);
  const request = {
    method: req.method, url: req.url, route: '/...', base: '', pathInfo: path,
    client: `${req.socket.remoteAddress}:${req.socket.remotePort}`, headers, body,
  };
  const inst = opts.fresh ? guest.instantiate() : instance;
  return inst.handleHttp(request);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let out;
    try {
      out = handle(req, chunks.length ? new Uint8Array(Buffer.concat(chunks)) : new Uint8Array(0));
    } catch (err) {
      console.error(`error ${err.message}`);
      instance = guest.instantiate();
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('500 Internal Server Error: the service failed\n');
      return;
    }
    const headers = {};
    for (const [n, v] of out.headers) {
      const name = n.toLowerCase();
      if (name === 'content-length' || name === 'transfer-encoding') continue;
      headers[name] = headers[name] === undefined ? v : [].concat(headers[name], v);
    }
    headers['content-length'] = out.body.length;
    res.writeHead(out.status, headers);
    res.end(out.body);
  });
});
server.listen(opts.port, opts.host, () => console.error(`serving ${opts.module} on http://${opts.host}:${opts.port}`));
