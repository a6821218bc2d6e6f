import { describe, expect, it } from "vitest";

import { linkAction, linkText, oauthOutcome, platformRows, type LinkState, type PlatformApp } from "./platform-links";

function link(change: Partial<LinkState> = {}): LinkState {
  return { id: 1, platform: "kick", external_id: "5005", verified: true, status: "verified", login: "erin", ...change };
}

const APPS: PlatformApp[] = [
  { platform: "twitch", name: "Twitch", configured: false },
  { platform: "kick", name: "Kick", configured: true },
  { platform: "youtube", name: "YouTube", configured: true },
];

describe("platform rows", () => {
  it("lists the three platforms in order, each with its links and whether it is configured", () => {
    const rows = platformRows(APPS, [link(), link({ id: 2, platform: "youtube", status: "unverified", login: null })]);
    expect(rows.map((r) => [r.platform, r.configured, r.links.map((l) => l.id)])).toEqual([
      ["twitch", false, []],
      ["kick", true, [1]],
      ["youtube", true, [2]],
    ]);
    expect(platformRows(null, []).map((r) => r.configured)).toEqual([null, null, null]);
  });

  it("says each link's state and whether the button links or relinks", () => {
    expect(linkText(link())).toBe("Linked as erin");
    expect(linkText(link({ login: undefined }))).toBe("Linked (5005)");
    expect(linkText(link({ status: "needs_relink" }))).toBe("Needs relink (erin): sign in with Kick again");
    expect(linkText(link({ status: "unverified", verified: false, login: null }))).toBe("Not verified (5005)");
    const [twitch, kick, youtube] = platformRows(APPS, [link(), link({ id: 2, platform: "youtube", status: "unverified" })]);
    expect([twitch, kick, youtube].map((r) => r && linkAction(r))).toEqual(["Link Twitch", "Relink Kick", "Link YouTube"]);
  });
});

describe("a platform sign-in's outcome", () => {
  it("names the platform the sign-in started for", () => {
    expect(oauthOutcome("?linked=kick", "#purpose=link_channel&login=erin&link_id=4")).toEqual({
      ok: true,
      text: "Linked to the Kick channel erin.",
    });
    expect(oauthOutcome("?linked=youtube", "#error=access_denied")).toEqual({
      ok: false,
      text: "YouTube sign-in failed (access_denied).",
    });
    expect(oauthOutcome("", "#error=oauth_denied&error_description=You+declined.")).toEqual({
      ok: false,
      text: "You declined.",
    });
    expect(oauthOutcome("", "#purpose=link_channel")).toEqual({ ok: true, text: "Channel linked." });
    expect(oauthOutcome("?linked=kick", "")).toBeNull();
  });
});
