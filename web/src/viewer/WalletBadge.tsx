// Your balance in the channel's points, and in cash when you have a cash wallet, live.
import { formatAmount, isCash } from "../lib/format";
import type { Channel } from "../lib/types";

export function WalletBadge({
  channel,
  balances,
  currencies,
}: {
  channel: Channel;
  balances: Record<string, number>;
  /** The currencies of the channel's pools: a cash pool shows your cash even at zero. */
  currencies: string[];
}) {
  const points = `points:${channel.id}`;
  const cash = channel.cash_enabled
    ? [...new Set([...Object.keys(balances), ...currencies])].filter(isCash).sort()
    : [];
  return (
    <p class="wallet" aria-label="Your balance" data-testid="wallet">
      <span class="balance" data-currency={points} data-balance={balances[points] ?? 0}>
        {formatAmount(balances[points] ?? 0, points)}
      </span>
      {cash.map((currency) => (
        <span
          key={currency}
          class="balance"
          data-currency={currency}
          data-balance={balances[currency] ?? 0}
        >
          {formatAmount(balances[currency] ?? 0, currency)}
        </span>
      ))}
    </p>
  );
}
