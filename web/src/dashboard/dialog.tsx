// A confirmation in a real modal <dialog>: focus moves into it (to the safe choice, or the
// first field), Escape or "Keep" closes it without acting, and focus returns to the button that
// opened it.
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

export interface ConfirmProps {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  cancelLabel?: string;
  danger?: boolean;
  busy?: boolean;
  error?: string | null;
  /** Focus the first field instead of the safe button (a choice to make). */
  focusFirstField?: boolean;
  confirmDisabled?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}

export function ConfirmDialog(props: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const keep = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const titleId = useId();
  const { open, onClose } = props;

  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      dialog.showModal();
      const field = props.focusFirstField ? dialog.querySelector<HTMLElement>("input, select, textarea") : null;
      (field ?? keep.current)?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open, props.focusFirstField]);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    const closed = () => {
      opener.current?.focus();
      opener.current = null;
    };
    const cancelled = (event: Event) => {
      event.preventDefault();
      onClose();
    };
    dialog.addEventListener("close", closed);
    dialog.addEventListener("cancel", cancelled);
    return () => {
      dialog.removeEventListener("close", closed);
      dialog.removeEventListener("cancel", cancelled);
    };
  }, [onClose]);

  return (
    <dialog ref={ref} class="confirm" aria-labelledby={titleId}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          props.onConfirm();
        }}
      >
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
        {props.error ? <p class="error" role="alert">{props.error}</p> : null}
        <div class="actions">
          <button type="button" ref={keep} onClick={onClose}>
            {props.cancelLabel ?? "Keep it"}
          </button>
          <button
            type="submit"
            class={props.danger ? "danger-solid" : "primary"}
            disabled={props.busy === true || props.confirmDisabled === true}
          >
            {props.busy ? "Working…" : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
