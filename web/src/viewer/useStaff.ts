// Whether the signed-in viewer may moderate the channel's chat: its owner, or anyone the
// moderators list answers (the API shows that list to the owner, moderators and admins only,
// and refuses everyone else with 403).
import { useEffect, useState } from "preact/hooks";

import { api } from "../lib/api";
import type { Channel } from "../lib/types";

export function useStaff(channel: Channel, userId: number | null): boolean {
  const owner = userId !== null && channel.owner_id === userId;
  const [listed, setListed] = useState(false);
  useEffect(() => {
    setListed(false);
    if (userId === null || owner) return;
    let current = true;
    api<{ moderators: unknown[] }>(`/api/v1/channels/${channel.id}/moderators`)
      .then(() => {
        if (current) setListed(true);
      })
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [channel.id, userId, owner]);
  return owner || listed;
}
