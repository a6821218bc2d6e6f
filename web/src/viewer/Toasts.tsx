// Settlement notices received during this visit, as toasts read out by screen readers (the
// inbox, Inbox.tsx, keeps every notification).
import { useEffect } from "preact/hooks";

import { formatAmount } from "../lib/format";
import type { PoolNotice } from "../lib/types";

export interface Toast {
  id: string;
  text: string;
}

const SHOWN_MS = 12_000;

export function noticeText(notice: PoolNotice): string {
  const stake = formatAmount(notice.stake, notice.currency);
  const paid = formatAmount(notice.paid, notice.currency);
  if (notice.kind === "pool.refunded") return `“${notice.title}” was called off: ${paid} refunded.`;
  if (notice.paid === notice.stake) return `“${notice.title}”: your ${stake} stake came back.`;
  if (notice.paid > 0) return `“${notice.title}”: you won ${paid} (you staked ${stake}).`;
  return `“${notice.title}”: your ${stake} stake did not win.`;
}

export function Toasts({
  toasts,
  onDismiss,
}: {
  toasts: Toast[];
  onDismiss: (id: string) => void;
}) {
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((toast) => (
        <ToastItem key={toast.id} toast={toast} onDismiss={onDismiss} />
      ))}
    </div>
  );
}

function ToastItem({ toast, onDismiss }: { toast: Toast; onDismiss: (id: string) => void }) {
  useEffect(() => {
    const timer = setTimeout(() => {
      onDismiss(toast.id);
    }, SHOWN_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [toast.id, onDismiss]);
  return (
    <div class="toast" data-testid="toast">
      <span>{toast.text}</span>
      <button
        type="button"
        class="close"
        aria-label="Dismiss"
        onClick={() => {
          onDismiss(toast.id);
        }}
      >
        ×
      </button>
    </div>
  );
}
