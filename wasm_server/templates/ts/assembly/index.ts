// {{name}}: a wasm-server service in TypeScript (AssemblyScript). Build and serve: wasm-server up .
// npm packages work as in any AssemblyScript project: json-as (package.json, with its
// transform in asconfig.json) turns @json classes into JSON and back.
import { JSON } from "json-as";
import { Kv, Request, Response, lastError, lastErrorCode, log, serve } from "wasm-server";

@json
class Item {
  name: string = "";
  quantity: i32 = 0;
}

@json
class Order {
  item: string = "";
  quantity: i32 = 0;
  total: i32 = 0;
}

// POST /order {"name": "tea", "quantity": 2} answers {"item":"tea","quantity":2,"total":…}
function order(req: Request): Response {
  const item = JSON.parse<Item>(req.text());
  if (item.name.length == 0 || item.quantity <= 0) {
    return Response.json('{"error":"need a name and a positive quantity"}', 400);
  }
  const total = <i32>Kv.open("default").incr("ordered", item.quantity);
  log.info("ordered " + item.quantity.toString() + " " + item.name);
  const answer = new Order();
  answer.item = item.name;
  answer.quantity = item.quantity;
  answer.total = total;
  return Response.json(JSON.stringify(answer));
}

function handle(req: Request): Response {
  if (req.method == "POST" && req.pathInfo == "/order") return order(req);
  // count visits in the KV store (declared in wasm-server.toml)
  const visits = Kv.open("default").incr("visits", 1);
  if (lastErrorCode() != 0) log.warn("could not count the visit: " + lastError());
  return Response.text("Hello from {{name}}!\nyou asked for " + req.pathInfo + " (visit " + visits.toString() + ")\n");
}

serve(handle);
