// One JSON WebSocket to this server that reconnects by itself, shared by the visitor's panel
// (chat.js), the agent console (console/static/agent.js) and the supervisors' dashboard
// (console/static/dashboard.js), so that the three cannot drift apart again.
//
//   const { connect, retry, send } = ChatSocket({ path: "/ws/agent", hello, onFrame, onLost });
//
// hello() builds the first frame of each connection (with the caller's cursors, say).
// onFrame(frame) gets every frame that is a JSON object with a type, but "reconnect", which is
// handled here. onLost(code, delay) hears of each close and of the time until the next try;
// it returns false to stop trying (signed out: trying again cannot help). The backoff starts
// over on a frame of type `ready`: the session has really started, not just the socket.
// connect() opens the socket unless it is open or a retry is pending; retry() tries now
// during a backoff (socket.js does on the browser's "online"; the widget also when the tab is
// in sight again); send() drops a frame while not connected (callers resend what matters
// once they are ready again).
//
// The console's pages load this file as /static/widget/socket.js. The widget's pipeline
// (chatserver/widget_routes.py) serves it at the end of chat.js, in one file: within the
// widget's 20 KB budget, a separate file would cost its own gzip overhead, and after chat.js
// it compresses best. That is why this is a function declaration rather than
// `window.ChatSocket = ...`: a declaration is hoisted to the start of its script, so chat.js,
// above it in the same file, can call it while loading. Plain script, no build step.
"use strict";

function ChatSocket({ path, hello, onFrame, onLost, ready = "welcome" }) {
  // The open socket, and the pending retry's timer.
  let ws, timer;
  let attempt = 0;
  const send = (frame) => ws?.readyState === WebSocket.OPEN && ws.send(JSON.stringify(frame));

  // Only called when no socket is open: each one closes before the next opens, so its
  // handlers need not check that they still belong to the current one.
  function open() {
    clearTimeout(timer);
    timer = null;
    // ws: for a page on http:, wss: for one on https:.
    const socket = (ws = new WebSocket(`ws${location.protocol.slice(4)}//${location.host}${path}`));
    socket.onopen = () => send(hello());
    socket.onmessage = ({ data }) => {
      let frame;
      // Not JSON (a proxy's error page, say), or not an object: not ours to act on, and it
      // must not break the frames after it.
      try { frame = JSON.parse(data); } catch { return; }
      if (!frame?.type) return;
      if (frame.type === ready) attempt = 0;
      if (frame.type !== "reconnect") return onFrame(frame);
      // The node is stopping (docs/protocol.md): come back, to any node, after about
      // after_ms, spread out so that its clients do not all arrive at once.
      socket.again = (Number(frame.after_ms) || 250) * (1 + Math.random() / 2);
      socket.close(1000);
    };
    socket.onclose = ({ code }) => {
      ws = null;
      // Exponential backoff up to 30 s, each wait between half and all of it, so that a
      // restarted server is not hit by every client at once; after a flood (4008), at least
      // 10 s, so that the limit has refilled.
      const delay = socket.again ??
        Math.max(Math.min(30000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2), code === 4008 ? 10000 : 0);
      if (onLost(code, delay) !== false) timer = setTimeout(open, delay);
    };
  }

  // During a backoff only: a socket that is open, or was never wanted, stays as it is.
  const retry = () => !ws && timer && open();
  addEventListener("online", retry);

  return { connect: () => ws || timer || open(), retry, send };
}
