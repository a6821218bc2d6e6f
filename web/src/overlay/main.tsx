import { render } from "preact";

import "../lib/base.css";

function App() {
  return <main><h1>streampools</h1><p class="muted">The overlay page is on its way.</p></main>;
}

const root = document.getElementById("app");
if (root) render(<App />, root);
