// The reference for the fan-out benchmark: a minimal Node Socket.IO server speaking the same
// events as ours, with no database behind it. It acknowledges bets with a canned answer,
// broadcasts chat messages to the channel room as they come, and while bets flow broadcasts
// `pool:updated` at the pace and with the payload measured on our server.
//
// Config (first line on stdin, JSON): {port, channel, poolIds,
//   poolUpdated: {perSecond, payload}, deadlineSeconds}
// Prints {event: "listening", port} once it accepts connections; exits when stdin closes.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { Server } from "socket.io";
import { deadline, readConfig, report } from "./common.mjs";

const config = await readConfig();
deadline(config.deadlineSeconds ?? 170);
const server = http.createServer();
const sockets = new Server(server, {
  transports: ["websocket"],
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
});
let nextId = 1;
let flow = { startedAt: 0, lastBetAt: 0, emitted: 0 };

function userOf(token) {
  // The token's claims, read but not verified: the reference stands in for our auth cheaply.
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
    return Number(claims.sub);
  } catch {
    return null;
  }
}

sockets.on("connection", (socket) => {
  const token = socket.handshake.auth?.token;
  const userId = typeof token === "string" ? userOf(token) : null;
  if (userId !== null) socket.join(`user:${userId}`);

  socket.on("channel:join", (body, ack) => {
    socket.join(`channel:${body?.channel}`);
    ack?.({ ok: true, channel: { id: body?.channel }, pools: [], balances: [], chat: [] });
  });

  socket.on("bet:place", (body, ack) => {
    const at = Date.now();
    if (at - flow.lastBetAt > 1000) flow = { startedAt: at, lastBetAt: at, emitted: 0 };
    flow.lastBetAt = at;
    const balance = 1_000_000 - nextId;
    ack?.({
      ok: true,
      bet: {
        pool_id: body.pool_id,
        bet_id: nextId++,
        outcome_id: body.outcome_id,
        placed: body.amount,
        position: body.amount,
        currency: `points:${config.channel}`,
        balance,
      },
    });
    sockets
      .to(`user:${userId}`)
      .emit("wallet:updated", { currency: `points:${config.channel}`, balance });
  });

  socket.on("chat:send", (body, ack) => {
    // Shaped like ours: a 32-digit hex id, the platform, microseconds in the time.
    const message = {
      id: randomUUID().replaceAll("-", ""),
      channel_id: body.channel,
      user_id: userId,
      display_name: `Bettor ${userId}`,
      platform: "streampools",
      text: body.text,
      sent_at: new Date().toISOString().replace("Z", "000Z"),
    };
    sockets.to(`channel:${body.channel}`).emit("chat:message", message);
    ack?.({ ok: true, message });
  });
});

// pool:updated, round robin over the pools, at the measured pace while bets keep coming.
const template = config.poolUpdated?.payload ?? null;
const perSecond = config.poolUpdated?.perSecond ?? 0;
setInterval(() => {
  const at = Date.now();
  if (!template || perSecond <= 0 || at - flow.lastBetAt > 500) return;
  const due = Math.floor(((at - flow.startedAt) / 1000) * perSecond) - flow.emitted;
  for (let i = 0; i < due; i += 1) {
    const poolId = config.poolIds[flow.emitted % config.poolIds.length];
    sockets.to(`channel:${config.channel}`).emit("pool:updated", { ...template, id: poolId });
    flow.emitted += 1;
  }
}, 5);

server.listen(config.port, "127.0.0.1", () => {
  report({ event: "listening", port: server.address().port });
});
