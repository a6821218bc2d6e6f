// Sign in or sign up (email and password), in a modal dialog: opened when a viewer asks, or
// when they try to bet or chat while signed out.
import { useEffect, useRef, useState } from "preact/hooks";

import { describe } from "../lib/errors";
import { register, signIn } from "../lib/session";

type Mode = "sign-in" | "sign-up";

export function AuthDialog({ reason, onClose }: { reason: string | null; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [mode, setMode] = useState<Mode>("sign-in");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const open = reason !== null;

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) {
      setError(null);
      element.showModal();
    } else if (!open && element.open) {
      element.close();
    }
  }, [open]);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const email = field(form, "email").trim();
    const password = field(form, "password");
    setBusy(true);
    setError(null);
    try {
      if (mode === "sign-in") await signIn(email, password);
      else await register(email, password, field(form, "display_name").trim());
      dialog.current?.close();
    } catch (caught) {
      setError(describe(caught));
    } finally {
      setBusy(false);
    }
  };

  const title = mode === "sign-in" ? "Sign in" : "Create an account";
  return (
    <dialog ref={dialog} class="auth" aria-labelledby="auth-title" onClose={onClose}>
      <form onSubmit={(event) => void submit(event)}>
        <h2 id="auth-title">{title}</h2>
        {reason && <p class="muted">{reason}</p>}
        <label>
          Email
          <input name="email" type="email" autocomplete="email" required autofocus />
        </label>
        {mode === "sign-up" && (
          <label>
            Display name
            <input name="display_name" autocomplete="nickname" required maxLength={64} />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={mode === "sign-in" ? "current-password" : "new-password"}
            minLength={mode === "sign-up" ? 10 : undefined}
            aria-describedby={mode === "sign-up" ? "auth-password-hint" : undefined}
            required
          />
        </label>
        {mode === "sign-up" && (
          <p id="auth-password-hint" class="muted hint">
            At least 10 characters.
          </p>
        )}
        <p class="error" role="alert">
          {error}
        </p>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "One moment…" : title}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
        <p class="switch">
          {mode === "sign-in" ? "New here? " : "Have an account? "}
          <button
            type="button"
            class="link"
            onClick={() => {
              setError(null);
              setMode(mode === "sign-in" ? "sign-up" : "sign-in");
            }}
          >
            {mode === "sign-in" ? "Create an account" : "Sign in instead"}
          </button>
        </p>
      </form>
    </dialog>
  );
}

function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}
