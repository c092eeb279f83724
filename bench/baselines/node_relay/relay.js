// The bench's Node.js baseline: the chat relay as a JavaScript team would deploy it, socket.io 4
// with its Redis adapter, the same relay as bench/baselines/socketio_relay.py (read its
// docstring for the semantics): a client connects with `auth` naming its role and
// conversation(s) and joins the rooms `conv:<id>`; a `message` event is emitted to its
// conversation's room, the sender included (its echo). Nothing is stored, nothing is
// acknowledged. Several processes on one Redis form a cluster through the adapter.
//
//   node relay.js --host 127.0.0.1 --redis-url redis://127.0.0.1:6379 --port-file FILE
//
// Its best configuration, so that the comparison is fair to it: the WebSocket transport only,
// no per-message deflate, no HTTP compression, no logging.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main() {
  const host = option("host", "127.0.0.1");
  const port = Number(option("port", "0"));
  const redisUrl = option("redis-url", process.env.REDIS_URL || "redis://127.0.0.1:6379");
  const portFile = option("port-file", "");

  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", () => {}); // reconnects by itself; a lost emit is lost
  await Promise.all([pub.connect(), sub.connect()]);
  const adapter = createAdapter(pub, sub);

  const server = http.createServer(async (req, res) => {
    if (req.url !== "/readyz") {
      res.writeHead(404).end();
      return;
    }
    // Ready once this process's adapter listens: the harness waits for every process's
    // subscription (PUBSUB NUMSUB of the request channel) before any client connects.
    const counts = await pub.sendCommand(["PUBSUB", "NUMSUB", requestChannel]).catch(() => null);
    const ready = Array.isArray(counts) && Number(counts[1]) >= 1;
    res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ok" : "starting");
  });

  const io = new Server(server, {
    adapter,
    transports: ["websocket"],
    allowUpgrades: false,
    perMessageDeflate: false,
    httpCompression: false,
    cors: { origin: "*" },
  });
  const requestChannel = io.of("/").adapter.requestChannel;

  io.use((socket, next) => {
    const auth = socket.handshake.auth;
    let conversations;
    if (auth && auth.role === "visitor") conversations = [auth.conversation_id];
    else if (auth && auth.role === "agent") conversations = Array.isArray(auth.conversations) ? auth.conversations : [];
    else return next(new Error("unauthorized"));
    if (!conversations.every((c) => typeof c === "string" && c)) return next(new Error("unauthorized"));
    socket.join(conversations.map((c) => `conv:${c}`));
    next();
  });

  io.on("connection", (socket) => {
    socket.on("message", (data) => {
      if (!data || typeof data !== "object") return;
      const room = `conv:${data.conversation_id}`;
      if (!socket.rooms.has(room)) return; // only into a conversation the client is part of
      io.to(room).emit("message", data);
    });
  });

  server.listen(port, host, () => {
    if (portFile) fs.writeFileSync(portFile, String(server.address().port));
  });
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => {
      io.close();
      Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
