// The channel's top 10 (all time, in its points): net winnings and wins, live.
import { formatAmount } from "../lib/format";
import type { Leaderboard } from "../lib/types";

export function LeaderboardPanel({
  leaderboard,
  myUserId,
}: {
  leaderboard: Leaderboard | null;
  myUserId: number | null;
}) {
  return (
    <section class="leaderboard panel" aria-labelledby="leaderboard-heading">
      <h2 id="leaderboard-heading">Leaderboard</h2>
      {leaderboard === null || leaderboard.rows.length === 0 ? (
        <p class="muted">Nobody has won here yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Viewer</th>
              <th scope="col" class="num">
                Net
              </th>
              <th scope="col" class="num">
                Wins
              </th>
            </tr>
          </thead>
          <tbody>
            {leaderboard.rows.slice(0, 10).map((row) => (
              <tr key={row.user_id} class={row.user_id === myUserId ? "me" : ""}>
                <td>{row.rank}</td>
                <td class="name">{row.display_name}</td>
                <td class={`num ${row.net >= 0 ? "good" : "bad"}`}>
                  {row.net > 0 ? "+" : ""}
                  {formatAmount(row.net, leaderboard.currency)}
                </td>
                <td class="num">{row.wins}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
