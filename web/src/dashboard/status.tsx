// One polite live region for what actions did ("Pool locked."), read out by screen readers and
// shown under the header; errors go out assertively.
import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useMemo, useRef, useState } from "preact/hooks";

interface Message {
  text: string;
  kind: "ok" | "error";
  at: number;
}

type Announce = (text: string, kind?: "ok" | "error") => void;

const StatusContext = createContext<Announce>(() => undefined);

export function useAnnounce(): Announce {
  return useContext(StatusContext);
}

export function StatusProvider({ children }: { children: ComponentChildren }) {
  const [message, setMessage] = useState<Message | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const announce = useCallback<Announce>((text, kind = "ok") => {
    setMessage({ text, kind, at: Date.now() });
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = setTimeout(() => { setMessage(null); }, 8_000);
  }, []);
  const value = useMemo(() => announce, [announce]);
  return (
    <StatusContext.Provider value={value}>
      <div class="status-bar" role="status" aria-live="polite" aria-atomic="true">
        {message?.kind === "ok" ? <p class="status ok">{message.text}</p> : null}
      </div>
      <div class="status-bar" role="alert" aria-atomic="true">
        {message?.kind === "error" ? <p class="status bad">{message.text}</p> : null}
      </div>
      {children}
    </StatusContext.Provider>
  );
}
