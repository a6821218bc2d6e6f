// The dashboard's client-side routes under /dashboard (History API, so a reload lands on the
// same page: the web process serves the dashboard for every path below it).

export type Tab = "pools" | "moderators" | "automations" | "platforms" | "overlay";
export const TABS: readonly Tab[] = ["pools", "moderators", "automations", "platforms", "overlay"];

export type Route =
  | { name: "channels" }
  | { name: "channel"; channelId: number; tab: Tab }
  | { name: "not_found" };

export function parseRoute(pathname: string): Route {
  const parts = pathname.replace(/\/+$/, "").split("/").filter(Boolean);
  if (parts[0] !== "dashboard") return { name: "not_found" };
  if (parts.length === 1) return { name: "channels" };
  if (parts[1] !== "channels") return { name: "not_found" };
  if (parts.length === 2) return { name: "channels" };
  const id = parts[2] ?? "";
  if (!/^[1-9]\d{0,15}$/.test(id)) return { name: "not_found" };
  const tab = (parts[3] ?? "pools") as Tab;
  if (!TABS.includes(tab) || parts.length > 4) return { name: "not_found" };
  return { name: "channel", channelId: Number(id), tab };
}

export function routePath(route: Route): string {
  if (route.name === "channel") {
    const base = `/dashboard/channels/${route.channelId}`;
    return route.tab === "pools" ? base : `${base}/${route.tab}`;
  }
  return "/dashboard";
}

type Listener = () => void;
const listeners = new Set<Listener>();

export function onNavigate(listener: Listener): () => void {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

/** Go to a dashboard path without reloading the page. */
export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, "", path);
  for (const listener of listeners) listener();
}
