// Peer: Socket.IO on Node.js (the `socket.io` package), broadcasting to a room.
//
// Idiom: every connecting socket joins room "bench"; each message is `io.to("bench").emit(
// "entry", message)`. Websocket transport only (no long-polling), perMessageDeflate and
// httpCompression off. Readers speak Engine.IO v4 / Socket.IO v5 at
// /socket.io/?EIO=4&transport=websocket; they are ready once the server has answered their
// namespace connect (`40{"sid":...}`); each message reaches them as `42["entry",{...}]`.
//
// The message is emitted as an object, the documented idiom, not as a pre-serialized string:
// socket.io already encodes once per broadcast — the adapter serializes the packet
// `42["entry",{...}]` once and writes the same encoded packet (with ws underneath, even the same
// WebSocket frame) to every socket in the room. A string would cost the same and only nest JSON
// in JSON, making every reader parse twice.
//
// A plain HTTP `GET /publish?count=N&interval=S` on the same port broadcasts N messages (seq
// 1..N) S seconds apart (with 0, yielding to the event loop between two with setImmediate) and
// answers `200 done` after the last one. Each message has the shape of bench/message.py's
// frame(seq).
//
// Pings: Engine.IO pings every 25 s (pingInterval, its default) and drops a reader that has not
// answered within 60 s (pingTimeout, default 20 s): 10,000+ idle readers are kept for a run.
//
//     npm ci --prefix bench && node bench/servers/socketio_server.mjs PORT   # listens on 127.0.0.1

import http from "node:http";
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";
import { Server } from "socket.io";

const BODY = "<p>" + "x".repeat(900) + "</p>";

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
    io.to("bench").emit("entry", message(seq)); // encoded once by the adapter for the room
    // 0: let the loop flush, as the websockets reference does between two.
    await (interval > 0 ? sleep(interval * 1000) : yieldToLoop());
  }
}

// Socket.IO answers its own path (/socket.io/) and hands every other request to this handler.
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

const io = new Server(server, {
  transports: ["websocket"],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  pingInterval: 25_000,
  pingTimeout: 60_000,
});
io.on("connection", (socket) => {
  socket.join("bench");
});

const port = Number.parseInt(process.argv[2], 10);
// A backlog of 4,096, like the Python servers: thousands of readers connect at once.
server.listen({ host: "127.0.0.1", port, backlog: 4096 }, () => console.log("listening"));
