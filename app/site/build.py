"""What `make web` built (web/dist): the three pages, their hashed assets, and the API docs'
scripts (docs.json). A page is read again when its file changed, so a web process that runs on
through a rebuild serves the new page with the new asset names (the old ones are gone)."""

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from app.kit.migrate import PROJECT_ROOT

log = logging.getLogger("streampools.site")

PAGES = ("viewer", "dashboard", "overlay")


@dataclass
class WebBuild:
    root: Path
    #: The API docs' asset URLs by name (swagger_js, swagger_css, ...), read at start.
    docs: dict[str, str] = field(default_factory=dict)
    _pages: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    @property
    def built(self) -> bool:
        return all(self.page(name) is not None for name in PAGES)

    @property
    def assets(self) -> Path:
        return self.root / "assets"

    def page(self, name: str) -> bytes | None:
        """The page's HTML as built now (None when it is not built)."""
        path = self.root / f"{name}.html"
        try:
            changed = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            return None
        cached = self._pages.get(name)
        if cached is None or cached[0] != changed:
            cached = (changed, path.read_bytes())
            self._pages[name] = cached
        return cached[1]


def load_build(web_dist: str) -> WebBuild:
    root = Path(web_dist)
    if not root.is_absolute():
        root = PROJECT_ROOT / root
    docs_file = root / "docs.json"
    docs = json.loads(docs_file.read_text()) if docs_file.is_file() else {}
    build = WebBuild(root, docs)
    if not build.built:
        log.warning(
            "the web app is not built (%s): its pages answer 503 until `make web` builds it",
            root,
        )
    return build
