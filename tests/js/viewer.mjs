// A viewer from the terminal: signs in, joins a channel over Socket.IO, bets on its open pool,
// says hello in the chat, and prints the pool totals, chat and wallet as they change.
//
//   node tests/js/viewer.mjs EMAIL PASSWORD [--url URL] [--channel SLUG] [--bet AMOUNT]
//                            [--say TEXT] [--for SECONDS] [--json]
//
// The URL defaults to the platform's own, from the same settings `make run` reads:
// STREAMPOOLS_PUBLIC_URL, else http://STREAMPOOLS_HOST:STREAMPOOLS_PORT (127.0.0.1:8000).
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { io } from "socket.io-client";

function platformUrl(env) {
  if (env.STREAMPOOLS_PUBLIC_URL) return env.STREAMPOOLS_PUBLIC_URL.replace(/\/+$/, "");
  const host = env.STREAMPOOLS_HOST || "127.0.0.1";
  const reachable = ["0.0.0.0", "::"].includes(host) ? "127.0.0.1" : host;
  return `http://${reachable}:${env.STREAMPOOLS_PORT || 8000}`;
}

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string", default: platformUrl(process.env) },
    channel: { type: "string", default: "demo" },
    bet: { type: "string", default: "10" },
    say: { type: "string" },
    for: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const [email, password] = positionals;
if (!email || !password) {
  console.error("usage: node tests/js/viewer.mjs EMAIL PASSWORD [--url URL] [--channel SLUG] [--bet N]");
  process.exit(2);
}

const show = (event, data, line) =>
  console.log(options.json ? JSON.stringify({ event, data }) : line);

async function api(path, body) {
  const response = await fetch(new URL(path, options.url), {
    method: body ? "POST" : "GET",
    headers: { "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path}: ${answer.error.code}: ${answer.error.message}`);
  return answer;
}

let session = await api("/api/v1/auth/login", { email, password });
const channel = await api(`/api/v1/channels/by-slug/${options.channel}`);
const socket = io(options.url, { auth: { token: session.access_token }, transports: ["websocket"] });
const labels = new Map(); // outcome id -> label (pool:updated carries ids and totals only)
const totals = (pool) => pool.outcomes.map((o) => `${o.label ?? labels.get(o.id) ?? o.id}: ${o.total}`).join(" | ");

socket.on("connect_error", (error) => {
  console.error(`refused: ${error.message}`);
  process.exit(1);
});
socket.on("auth:refresh", async () => {
  // The access token is about to expire: get a fresh one and hand it to the server.
  session = await api("/api/v1/auth/refresh", { refresh_token: session.refresh_token });
  await socket.emitWithAck("auth:refresh", { token: session.access_token });
});
socket.on("pool:updated", (pool) => show("pool:updated", pool, `pool ${pool.id}  ${totals(pool)}  (${pool.bettors} bettors)`));
for (const event of ["pool:opened", "pool:locked", "pool:resolved", "pool:settled", "pool:cancelled", "pool:refunded"]) {
  socket.on(event, (pool) => show(event, pool, `${event} ${pool.id} "${pool.title}"  ${totals(pool)}`));
}
socket.on("chat:message", (m) => show("chat:message", m, `<${m.display_name}> ${m.text}`));
socket.on("chat:deleted", (m) => show("chat:deleted", m, `(a message was deleted)`));
socket.on("wallet:updated", (w) => show("wallet:updated", w, `wallet ${w.currency}: ${w.balance}`));
socket.on("leaderboard:updated", (b) => show("leaderboard:updated", b, `leaderboard: ${b.rows.map((r) => `${r.display_name} ${r.net}`).join(", ")}`));
socket.on("notification", (n) => show("notification", n, `${n.kind}: "${n.title}" staked ${n.stake}, got ${n.paid}`));

socket.on("connect", async () => {
  const snapshot = await socket.emitWithAck("channel:join", { channel: channel.id });
  if (!snapshot.ok) throw new Error(`${snapshot.error.code}: ${snapshot.error.message}`);
  show("channel:join", snapshot, `joined ${snapshot.channel.name}; balances: ${snapshot.balances.map((b) => `${b.currency} ${b.balance}`).join(", ") || "none"}`);
  for (const outcome of snapshot.pools.flatMap((p) => p.outcomes)) labels.set(outcome.id, outcome.label);
  for (const m of snapshot.chat) show("chat:history", m, `<${m.display_name}> ${m.text}`);
  for (const pool of snapshot.pools) show("pool", pool, `pool ${pool.id} [${pool.status}] "${pool.title}"  ${totals(pool)}`);

  const pool = snapshot.pools.find((p) => p.status === "open");
  if (pool) {
    // One outcome per viewer per pool: stick to ours, or pick one at random.
    const outcome = pool.my_position?.outcome_id ?? pool.outcomes[Math.floor(Math.random() * pool.outcomes.length)].id;
    const amount = Number(options.bet);
    const ack = await socket.emitWithAck("bet:place", { pool_id: pool.id, outcome_id: outcome, amount, idempotency_key: randomUUID() });
    show("bet:place", ack, ack.ok ? `bet ${amount} on outcome ${outcome}: position ${ack.bet.position}, balance ${ack.bet.balance}` : `bet refused: ${ack.error.code}: ${ack.error.message}`);
  }
  const said = await socket.emitWithAck("chat:send", { channel: channel.id, text: options.say ?? `hello from ${session.user.display_name}` });
  if (!said.ok) show("chat:send", said, `chat refused: ${said.error.code}: ${said.error.message}`);
});

if (options.for) setTimeout(() => { socket.disconnect(); process.exit(0); }, Number(options.for) * 1000);
