// N processes of hosts/js/serve.mjs behind one port (node:cluster; Node 20's
// http has no SO_REUSEPORT): the 2-core peer of `wasm-server up --workers 2`.
//
//   node benchmarks/node_cluster.mjs --workers 2 MODULE.wasm --port 8080
import cluster from 'node:cluster';

const argv = process.argv.slice(2);
const i = argv.indexOf('--workers');
const workers = i >= 0 ? Number(argv[i + 1]) : 2;
const rest = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;

if (cluster.isPrimary) {
  for (let n = 0; n < workers; n++) cluster.fork();
  const stop = () => { for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  process.argv = [process.argv[0], 'serve.mjs', ...rest];
  await import('../hosts/js/serve.mjs');
}
