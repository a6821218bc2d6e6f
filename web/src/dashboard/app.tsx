// The streamer dashboard: sign in, then the channels one runs and each channel's pages.
import { useEffect, useState } from "preact/hooks";

import { currentSession, onSessionChange, signOut, type StoredSession } from "../lib/session";
import { ChannelPage } from "./channel";
import { ChannelList } from "./channels";
import { navigate, onNavigate, parseRoute, type Route } from "./router";
import { SignIn } from "./signin";
import { StatusProvider } from "./status";

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => onNavigate(() => { setRoute(parseRoute(location.pathname)); }), []);
  return route;
}

function useSession(): StoredSession | null {
  const [session, setSession] = useState(currentSession);
  useEffect(() => onSessionChange(setSession), []);
  return session;
}

export function App() {
  const session = useSession();
  const route = useRoute();
  return (
    <StatusProvider>
      <header class="topbar">
        <a
          class="brand"
          href="/dashboard"
          onClick={(event) => {
            event.preventDefault();
            navigate("/dashboard");
          }}
        >
          streampools <span>dashboard</span>
        </a>
        {session ? (
          <div class="who">
            <span>
              Signed in as <strong>{session.user.display_name}</strong>
            </span>
            <button type="button" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <main class="page" id="main">
        {session === null ? (
          <SignIn />
        ) : route.name === "channel" ? (
          <ChannelPage key={`${session.user.id}:${route.channelId}`} channelId={route.channelId} tab={route.tab} userId={session.user.id} />
        ) : route.name === "channels" ? (
          <ChannelList key={session.user.id} />
        ) : (
          <section class="panel">
            <h1>Page not found</h1>
            <p>
              <a href="/dashboard">Back to your channels</a>
            </p>
          </section>
        )}
      </main>
    </StatusProvider>
  );
}
