// The fan-out swarm: many anonymous Socket.IO clients in one channel room, in this one process.
// Counts every delivery and, for each stamped chat message ("bench <seq> <sent ms>"), the
// moment its last recipient got it. A larger room is several swarms, whose results the parent
// merges (per stamped message, the last recipient of all).
//
// Config (first line on stdin, JSON): {url, clients, channel, join (default true: each client
//   joins the channel), connectConcurrency, joinTimeoutMs, graceSeconds, deadlineSeconds}
// Parent → swarm (stdin): "start", then "stop <stamped messages sent>" (repeatable), "quit".
// Swarm → parent (stdout, JSON lines): {event: "ready"}, then per run {event: "started"} and
// {event: "result"}.
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

const sockets = [];
let measurer = null; // the one client whose payloads are sized and sampled
let run = freshRun();

function freshRun() {
  return {
    counting: false,
    startedAt: 0,
    stoppedAt: 0,
    lastDeliveryAt: 0,
    deliveries: 0,
    disconnects: 0,
    events: {}, // name -> {count, bytes}, as the measuring client got them
    samples: {}, // name -> one payload, as the measuring client got it
    stamped: new Map(), // seq -> {sent, last, count}
  };
}

function onDelivery(measure, event, payload) {
  if (!run.counting) return;
  const at = now();
  run.deliveries += 1;
  run.lastDeliveryAt = at;
  if (measure) {
    const seen = (run.events[event] ??= { count: 0, bytes: 0 });
    seen.count += 1;
    seen.bytes += JSON.stringify(payload ?? null).length;
    run.samples[event] ??= payload;
  }
  if (event === "chat:message" && typeof payload?.text === "string") {
    const [mark, seq, sent] = payload.text.split(" ");
    if (mark !== "bench") return;
    let message = run.stamped.get(seq);
    if (message === undefined) {
      message = { sent: Number(sent), last: at, count: 0 };
      run.stamped.set(seq, message);
    }
    message.count += 1;
    message.last = at;
  }
}

async function join() {
  const socket = io(config.url, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    timeout: config.joinTimeoutMs ?? 30000,
  });
  sockets.push(socket);
  await connected(socket);
  if (config.join ?? true) {
    const answer = await socket
      .timeout(config.joinTimeoutMs ?? 30000)
      .emitWithAck("channel:join", { channel: config.channel });
    if (!answer?.ok) throw new Error(`channel:join refused: ${JSON.stringify(answer)}`);
  }
  measurer ??= socket;
  socket.onAny((event, payload) => onDelivery(socket === measurer, event, payload));
  socket.on("disconnect", () => {
    if (run.counting) run.disconnects += 1;
  });
}

async function stop(expected) {
  run.stoppedAt = now();
  const members = sockets.filter((s) => s.connected).length;
  const until = run.stoppedAt + (config.graceSeconds ?? 5) * 1000;
  const reached = () => [...run.stamped.values()].filter((m) => m.count >= members).length;
  while (now() < until && reached() < expected) await sleep(20);
  await sleep(200); // stragglers of the coalesced updates
  run.counting = false;
  const messages = [...run.stamped.values()];
  // Per stamped message that reached every member: [sent, last] (several swarms' are merged).
  const complete = {};
  for (const [seq, m] of run.stamped) if (m.count >= members) complete[seq] = [m.sent, m.last];
  report({
    event: "result",
    members,
    deliveries: run.deliveries,
    startedAt: run.startedAt,
    stoppedAt: run.stoppedAt,
    lastDeliveryAt: run.lastDeliveryAt,
    disconnects: run.disconnects,
    events: run.events,
    samples: run.samples,
    stamped: {
      seen: messages.length,
      // Only messages that reached every member have a last recipient.
      lastLatencies: messages.filter((m) => m.count >= members).map((m) => m.last - m.sent),
      complete,
    },
  });
}

onCommands((command, rest) => {
  if (command === "start") {
    run = freshRun();
    run.counting = true;
    run.startedAt = now();
    report({ event: "started" });
  } else if (command === "stop") {
    stop(Number(rest) || 0);
  } else if (command === "quit") {
    for (const socket of sockets) socket.disconnect();
    setTimeout(() => process.exit(0), 200);
  }
});

const joinStarted = now();
const failures = await eachLimited(
  Array.from({ length: config.clients }, (_, i) => i),
  config.connectConcurrency ?? 50,
  join,
);
report({
  event: "ready",
  connected: sockets.filter((s) => s.connected).length,
  failed: failures.length,
  failures: failures.slice(0, 5),
  joinSeconds: (now() - joinStarted) / 1000,
});
