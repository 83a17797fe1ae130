// The Node.js peer of benchmarks/http_hello.py: plain `http`, same answer shape.
'use strict';
const http = require('http');
const port = Number(process.argv[2] || 8081);
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`Hello from Node\npath: ${req.url.split('?')[0]}\n`);
}).listen(port, '127.0.0.1');
