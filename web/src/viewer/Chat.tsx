// The channel's merged chat (this site and the linked platforms): history and live messages,
// sending, and for the channel's owner and moderators deleting messages and timeouts.
import { useLayoutEffect, useRef, useState } from "preact/hooks";

import { ApiError, describe } from "../lib/errors";
import type { Live } from "../lib/socket";
import type { Channel, ChatMessage } from "../lib/types";
import type { Action } from "./state";

const TIMEOUT_SECONDS = 600;
const PLATFORMS: Record<string, string> = {
  streampools: "Site",
  twitch: "Twitch",
  kick: "Kick",
  youtube: "YouTube",
};

interface Props {
  channel: Channel;
  messages: ChatMessage[];
  live: Live | null;
  dispatch: (action: Action) => void;
  myUserId: number | null;
  staff: boolean;
  onNeedSignIn: () => void;
}

export function Chat({ channel, messages, live, dispatch, myUserId, staff, onNeedSignIn }: Props) {
  const log = useRef<HTMLOListElement>(null);
  const pinned = useRef(true);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  // Follow new messages unless the reader scrolled up to read older ones.
  useLayoutEffect(() => {
    const element = log.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [messages]);

  const send = async () => {
    if (myUserId === null) {
      onNeedSignIn();
      return;
    }
    const trimmed = text.trim();
    if (trimmed.length === 0 || live === null) return;
    setBusy(true);
    setError(null);
    try {
      const ack = await live.call<{ message: ChatMessage }>("chat:send", {
        channel: channel.id,
        text: trimmed,
      });
      dispatch({ type: "chat", message: ack.message });
      setText("");
      pinned.current = true;
    } catch (caught) {
      setError(chatProblem(caught));
    } finally {
      setBusy(false);
    }
  };

  const moderate = async (what: () => Promise<unknown>, done: string) => {
    setError(null);
    setNotice(null);
    try {
      await what();
      setNotice(done);
    } catch (caught) {
      setError(describe(caught));
    }
  };

  return (
    <section class="chat panel" aria-labelledby="chat-heading">
      <h2 id="chat-heading">Chat</h2>
      <ol
        class="chat-log"
        ref={log}
        role="log"
        aria-label="Chat history"
        tabIndex={0}
        onScroll={(event) => {
          const element = event.currentTarget;
          pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
        }}
      >
        {messages.length === 0 && <li class="muted">No messages yet. Say hi!</li>}
        {messages.map((message) => (
          <li key={message.id} class="message" data-message-id={message.id}>
            <span class={`platform ${message.platform}`}>
              {PLATFORMS[message.platform] ?? message.platform}
            </span>{" "}
            <strong class="author">{message.display_name}</strong>{" "}
            <span class="text">{message.text}</span>
            {staff && (
              <span class="mod-actions">
                <button
                  type="button"
                  class="mini"
                  aria-label={`Delete the message from ${message.display_name}`}
                  onClick={() =>
                    void moderate(
                      () => requireLive(live).call("chat:delete", { message_id: message.id }),
                      "Message deleted.",
                    )
                  }
                >
                  Delete
                </button>
                {message.user_id !== null && message.user_id !== myUserId && (
                  <button
                    type="button"
                    class="mini"
                    aria-label={`Time ${message.display_name} out for 10 minutes`}
                    onClick={() =>
                      void moderate(
                        () =>
                          requireLive(live).call("chat:timeout", {
                            channel: channel.id,
                            user_id: message.user_id,
                            seconds: TIMEOUT_SECONDS,
                          }),
                        `${message.display_name} can't chat for 10 minutes.`,
                      )
                    }
                  >
                    Timeout
                  </button>
                )}
              </span>
            )}
          </li>
        ))}
      </ol>
      <form
        class="chat-send"
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        <label class="visually-hidden" for="chat-text">
          Message
        </label>
        <input
          id="chat-text"
          name="text"
          maxLength={500}
          autocomplete="off"
          placeholder={myUserId === null ? "Sign in to chat" : "Send a message"}
          value={text}
          onInput={(event) => {
            setText(event.currentTarget.value);
          }}
        />
        <button type="submit" disabled={busy || (myUserId !== null && text.trim() === "")}>
          Send
        </button>
      </form>
      <p class="good" role="status">
        {notice}
      </p>
      <p class="error" role="alert">
        {error}
      </p>
    </section>
  );
}

function requireLive(live: Live | null): Live {
  if (live === null) throw new Error("Not connected yet.");
  return live;
}

/** The API's reason in words; a timeout says until when, in the reader's own time. */
export function chatProblem(error: unknown): string {
  if (error instanceof ApiError && error.code === "chat_timed_out") {
    const until = error.details["until"];
    const at = typeof until === "string" ? new Date(until) : null;
    if (at && !Number.isNaN(at.getTime())) {
      const time = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
      return `A moderator timed you out of this chat until ${time}.`;
    }
    return "A moderator timed you out of this chat.";
  }
  return describe(error);
}
