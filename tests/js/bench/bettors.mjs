// Signed-in Socket.IO clients that place bets (`bet:place`, acked) and send stamped chat
// messages (`chat:send`) at a set pace, and time every acknowledgement.
//
// Config (first line on stdin, JSON): {url, channel, join, bettors: [{token}],
//   pools: [{id, outcomes}], connectConcurrency, ackTimeoutMs, maxOutstanding, deadlineSeconds}
// Parent → bettors (stdin): "run <phase JSON>" (repeatable), "quit".
//   phase: {seconds, amount, mode: "open", rate} sends `rate` bets a second whatever the
//   answers (open loop); {mode: "closed", inflight} keeps `inflight` bets outstanding per
//   client (flat out); chatRate adds stamped chat messages a second.
// Bettors → parent (stdout, JSON lines): {event: "ready"}, then {event: "result"} per phase.
import { io } from "socket.io-client";
import {
  connected,
  deadline,
  eachLimited,
  now,
  onCommands,
  readConfig,
  report,
  sleep,
} from "./common.mjs";

const config = await readConfig();
deadline(config.deadlineSeconds ?? 170);
const ackTimeoutMs = config.ackTimeoutMs ?? 10000;
const maxOutstanding = config.maxOutstanding ?? 5000;
const clients = [];
let phases = 0;
let chatSeq = 0;

async function connect(bettor, index) {
  const socket = io(config.url, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    timeout: ackTimeoutMs,
    auth: { token: bettor.token },
  });
  clients.push({ socket, index });
  await connected(socket);
  if (config.join) {
    const answer = await socket
      .timeout(ackTimeoutMs)
      .emitWithAck("channel:join", { channel: config.channel });
    if (!answer?.ok) throw new Error(`channel:join refused: ${JSON.stringify(answer)}`);
  }
}

function tally(counts, key) {
  counts[key] = (counts[key] ?? 0) + 1;
}

async function runPhase(phase) {
  phases += 1;
  const live = clients.filter((c) => c.socket.connected);
  const result = {
    event: "result",
    clients: live.length,
    sent: 0,
    ok: 0,
    okInWindow: 0,
    errors: {},
    latencies: [],
    chat: { sent: 0, ok: 0, errors: {} },
    skipped: 0,
  };
  let outstanding = 0;
  const startedAt = now();
  const endsAt = startedAt + phase.seconds * 1000;

  function placeBet(client) {
    const pool = config.pools[Math.floor(Math.random() * config.pools.length)];
    const body = {
      pool_id: pool.id,
      outcome_id: pool.outcomes[client.index % pool.outcomes.length],
      amount: phase.amount ?? 1,
      idempotency_key: `bench-${phases}-${client.index}-${result.sent}`,
    };
    result.sent += 1;
    outstanding += 1;
    const sentAt = now();
    return client.socket
      .timeout(ackTimeoutMs)
      .emitWithAck("bet:place", body)
      .then(
        (answer) => {
          const at = now();
          if (answer?.ok) {
            result.ok += 1;
            if (at <= endsAt) result.okInWindow += 1;
            result.latencies.push(at - sentAt);
          } else {
            tally(result.errors, answer?.error?.code ?? "malformed_ack");
          }
        },
        () => tally(result.errors, "ack_timeout"),
      )
      .finally(() => {
        outstanding -= 1;
      });
  }

  function sendChat(client) {
    const text = `bench ${chatSeq++} ${now().toFixed(3)}`;
    result.chat.sent += 1;
    outstanding += 1;
    return client.socket
      .timeout(ackTimeoutMs)
      .emitWithAck("chat:send", { channel: config.channel, text })
      .then(
        (answer) => {
          if (answer?.ok) result.chat.ok += 1;
          else tally(result.chat.errors, answer?.error?.code ?? "malformed_ack");
        },
        () => tally(result.chat.errors, "ack_timeout"),
      )
      .finally(() => {
        outstanding -= 1;
      });
  }

  async function closedLoop(client) {
    while (now() < endsAt && client.socket.connected) await placeBet(client);
  }

  // Open loop: every tick, send what the pace says is due by now (so a late tick catches up).
  async function paced(rate, send) {
    let done = 0;
    while (now() < endsAt) {
      const due = Math.floor(((now() - startedAt) / 1000) * rate) - done;
      for (let i = 0; i < due; i += 1) {
        if (outstanding >= maxOutstanding) result.skipped += 1;
        else send(live[done % live.length]);
        done += 1;
      }
      await sleep(2);
    }
  }

  const lanes = [];
  if (phase.mode === "closed") {
    for (const client of live) {
      for (let i = 0; i < (phase.inflight ?? 1); i += 1) lanes.push(closedLoop(client));
    }
  } else if (phase.rate > 0) {
    lanes.push(paced(phase.rate, placeBet));
  }
  if (phase.chatRate > 0) lanes.push(paced(phase.chatRate, sendChat));
  await Promise.all(lanes);
  const drainUntil = now() + ackTimeoutMs + 1000;
  while (outstanding > 0 && now() < drainUntil) await sleep(5);
  result.seconds = phase.seconds;
  result.outstanding = outstanding;
  result.disconnected = live.filter((c) => !c.socket.connected).length;
  report(result);
}

let busy = Promise.resolve();
onCommands((command, rest) => {
  if (command === "run") busy = busy.then(() => runPhase(JSON.parse(rest)));
  else if (command === "quit") {
    busy.then(() => {
      for (const { socket } of clients) socket.disconnect();
      setTimeout(() => process.exit(0), 200);
    });
  }
});

const failures = await eachLimited(config.bettors, config.connectConcurrency ?? 50, connect);
report({
  event: "ready",
  connected: clients.filter((c) => c.socket.connected).length,
  failed: failures.length,
  failures: failures.slice(0, 5),
});
