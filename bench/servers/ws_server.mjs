// Peer: Node.js with the `ws` package, broadcasting the way the ws README shows.
//
// Idiom: `wss.clients.forEach(client => { if (client.readyState === WebSocket.OPEN)
// client.send(data, { binary: false }) })`, with `data` a Buffer encoded once per message
// (JSON and UTF-8), as the README's broadcast example passes one Buffer to every client: each
// client then costs only its frame header. permessage-deflate is off.
//
// Readers connect to /ws and get a hello text frame {"type":"hello","seq":0}. A plain HTTP
// `GET /publish?count=N&interval=S` on the same port broadcasts N messages (seq 1..N) S seconds
// apart (with 0, yielding to the event loop between two with setImmediate) and answers
// `200 done` after the last one. Each message has the shape of bench/message.py's frame(seq).
//
// Pings: ws sends none unless the application does (the README's heartbeat example); none here,
// so no idle reader is ever dropped during a run (the load generator answers pings anyway).
//
//     npm ci --prefix bench && node bench/servers/ws_server.mjs PORT    # listens on 127.0.0.1

import http from "node:http";
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";
import { WebSocket, WebSocketServer } from "ws";

const BODY = "<p>" + "x".repeat(900) + "</p>";
const HELLO = '{"type":"hello","seq":0}';

/** bench/message.py's frame(seq): created_at is now, in ms, as YYYY-MM-DDTHH:MM:SS.mmmZ. */
function message(seq) {
  const created = new Date().toISOString();
  return {
    type: "entry.created",
    seq,
    entry: {
      id: seq, seq, title: `Update ${seq}`, body: BODY, author: "Bench", pinned: false,
      key_event: false, created_at: created, updated_at: created, version: 1, deleted: false,
    },
  };
}

async function publish(count, interval) {
  for (let seq = 1; seq <= count; seq++) {
    const data = Buffer.from(JSON.stringify(message(seq))); // encoded once for all readers
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false });
    });
    // 0: let the loop flush, as the websockets reference does between two.
    await (interval > 0 ? sleep(interval * 1000) : yieldToLoop());
  }
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://127.0.0.1");
  if (request.method !== "GET" || url.pathname !== "/publish") {
    response.writeHead(404, { "content-type": "text/plain" }).end("not found");
    return;
  }
  const count = Number.parseInt(url.searchParams.get("count") ?? "1", 10);
  const interval = Number.parseFloat(url.searchParams.get("interval") ?? "0");
  publish(count, interval).then(
    () => response.writeHead(200, { "content-type": "text/plain" }).end("done"),
    (error) => response.writeHead(500, { "content-type": "text/plain" }).end(String(error)),
  );
});

const wss = new WebSocketServer({ server, path: "/ws", perMessageDeflate: false });
wss.on("connection", (socket) => {
  socket.on("error", () => {}); // a reset reader is removed from wss.clients on close
  socket.send(HELLO);
});

const port = Number.parseInt(process.argv[2], 10);
// A backlog of 4,096, like the Python servers: thousands of readers connect at once.
server.listen({ host: "127.0.0.1", port, backlog: 4096 }, () => console.log("listening"));
