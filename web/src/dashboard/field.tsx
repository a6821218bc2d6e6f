// A labelled input with its error beside it (tied by aria-describedby, flagged aria-invalid).
import type { InputHTMLAttributes } from "preact";
import { useId } from "preact/hooks";

type InputProps = Omit<InputHTMLAttributes, "label" | "onInput" | "value">;

export interface FieldProps extends InputProps {
  label: string;
  value: string;
  error?: string | undefined;
  hint?: string;
  onValue: (value: string) => void;
}

export function Field({ label, value, error, hint, onValue, ...rest }: FieldProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <label for={id}>
      {label}
      <input
        {...rest}
        id={id}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        onInput={(event) => { onValue(event.currentTarget.value); }}
      />
      {hint ? <span id={`${id}-hint`} class="hint">{hint}</span> : null}
      {error ? <span id={`${id}-error`} class="field-error">{error}</span> : null}
    </label>
  );
}
