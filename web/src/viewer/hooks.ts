// Small hooks of the viewer page: the clock, the session.
import { useEffect, useState } from "preact/hooks";

import { currentSession, onSessionChange, type StoredSession } from "../lib/session";

/** The time now, ticking every `everyMs` (countdowns, result cards moving to the results). */
export function useNow(everyMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      setNow(Date.now());
    }, everyMs);
    return () => {
      clearInterval(timer);
    };
  }, [everyMs]);
  return now;
}

/** The signed-in session of this browser (any tab signing in or out changes it). */
export function useSession(): StoredSession | null {
  const [session, setSession] = useState(currentSession);
  useEffect(() => onSessionChange(setSession), []);
  return session;
}
