// Sign in with email and password, or create an account.
import { useState } from "preact/hooks";

import { describe } from "../lib/errors";
import { register, signIn } from "../lib/session";
import { Field } from "./field";
import { fieldErrors } from "./fields";

export function SignIn() {
  const [mode, setMode] = useState<"in" | "up">("in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setFields({});
    try {
      if (mode === "in") await signIn(email.trim(), password);
      else await register(email.trim(), password, name.trim());
    } catch (caught) {
      setFields(fieldErrors(caught));
      setError(describe(caught));
      setBusy(false);
    }
  };

  return (
    <section class="panel narrow" aria-labelledby="signin-title">
      <h1 id="signin-title">{mode === "in" ? "Sign in to your dashboard" : "Create your account"}</h1>
      <p class="muted">Run prediction pools for your stream: open, lock and resolve them live.</p>
      <form class="stack" onSubmit={(event) => void submit(event)} noValidate>
        <Field label="Email" type="email" autoComplete="email" required value={email} onValue={setEmail} error={fields["email"]} />
        <Field
          label="Password"
          type="password"
          autoComplete={mode === "in" ? "current-password" : "new-password"}
          required
          value={password}
          onValue={setPassword}
          error={fields["password"]}
          {...(mode === "up" ? { hint: "At least 10 characters." } : {})}
        />
        {mode === "up" ? (
          <Field label="Display name" autoComplete="nickname" required value={name} onValue={setName} error={fields["display_name"]} />
        ) : null}
        {error ? <p class="error" role="alert">{error}</p> : null}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? "One moment…" : mode === "in" ? "Sign in" : "Create account"}
        </button>
      </form>
      <p>
        {mode === "in" ? "New here? " : "Have an account? "}
        <button
          type="button"
          class="link"
          onClick={() => {
            setMode(mode === "in" ? "up" : "in");
            setError(null);
            setFields({});
          }}
        >
          {mode === "in" ? "Create an account" : "Sign in instead"}
        </button>
      </p>
    </section>
  );
}
