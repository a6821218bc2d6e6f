// What the Platforms panel shows, worked out apart from the page: each platform's links and
// state, the outcome a platform sign-in came back with, and YouTube's quota pause.
import type { Link } from "../lib/types";

export type PlatformName = "twitch" | "kick" | "youtube";

export const PLATFORMS: readonly PlatformName[] = ["twitch", "kick", "youtube"];

export const PLATFORM_TEXT: Record<PlatformName, string> = {
  twitch: "Twitch",
  kick: "Kick",
  youtube: "YouTube",
};

/** `GET /api/v1/platforms`: whether this server has each platform's app. */
export interface PlatformApp {
  platform: PlatformName;
  name: string;
  configured: boolean;
}

/** `GET /api/v1/channels/{id}/links` (the owner's): who proved each link. */
export interface LinkState extends Link {
  login?: string | null;
  display_name?: string | null;
  quota_paused_until?: string | null;
}

export interface PlatformRow {
  platform: PlatformName;
  name: string;
  /** null while it is not known (the platforms' list did not load). */
  configured: boolean | null;
  links: LinkState[];
}

export function platformName(platform: string): string {
  const names: Partial<Record<string, string>> = PLATFORM_TEXT;
  return names[platform] ?? platform;
}

/** The three platforms, in order, each with its links. */
export function platformRows(apps: PlatformApp[] | null, links: LinkState[]): PlatformRow[] {
  return PLATFORMS.map((platform) => ({
    platform,
    name: PLATFORM_TEXT[platform],
    configured: apps === null ? null : apps.some((app) => app.platform === platform && app.configured),
    links: links.filter((link) => link.platform === platform),
  }));
}

/** One link's state, in words: `Linked as ada`, `Needs relink`, `Not verified`. Who proved
 * it is the owner's to read; others see the platform's channel id. */
export function linkText(link: LinkState): string {
  const who = link.login ?? link.external_id;
  if (link.status === "needs_relink") return `Needs relink (${who}): sign in with ${platformName(link.platform)} again`;
  if (link.status === "unverified") return `Not verified (${link.external_id})`;
  return link.login ? `Linked as ${link.login}` : `Linked (${link.external_id})`;
}

/** The button's words: relink a platform that is linked, link one that is not. */
export function linkAction(row: PlatformRow): string {
  return row.links.some((link) => link.status !== "unverified") ? `Relink ${row.name}` : `Link ${row.name}`;
}

/** `HH:MM` in the viewer's own time zone. */
export function clockTime(iso: string): string {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
    new Date(iso),
  );
}

export function pausedText(until: string): string {
  return `Chat betting on YouTube paused until ${clockTime(until)} (daily quota)`;
}

/** The outcome a platform sign-in came back with: the platform from the page's query
 * (`?linked=kick`, set when the sign-in started), what happened from the URL fragment. */
export function oauthOutcome(search: string, hash: string): { ok: boolean; text: string } | null {
  const platform = new URLSearchParams(search).get("linked");
  const name = platform === null ? null : platformName(platform);
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const error = params.get("error");
  if (error !== null) {
    const failed = name === null ? `Platform sign-in failed (${error}).` : `${name} sign-in failed (${error}).`;
    return { ok: false, text: params.get("error_description") ?? failed };
  }
  if (params.get("purpose") === "link_channel") {
    const login = params.get("login");
    const channel = name === null ? "channel" : `${name} channel`;
    return { ok: true, text: login ? `Linked to the ${channel} ${login}.` : `${channel[0]?.toUpperCase() ?? ""}${channel.slice(1)} linked.` };
  }
  return null;
}
