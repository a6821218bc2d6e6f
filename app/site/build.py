"""What `make web` built (web/dist): the three pages, their hashed assets, and the API docs'
scripts (docs.json). Read once when the web process starts."""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.kit.migrate import PROJECT_ROOT

log = logging.getLogger("streampools.site")

PAGES = ("viewer", "dashboard", "overlay")


@dataclass(frozen=True)
class WebBuild:
    root: Path
    pages: dict[str, bytes] = field(default_factory=dict)
    #: The API docs' asset URLs by name (swagger_js, swagger_css, redoc_js, ...).
    docs: dict[str, str] = field(default_factory=dict)

    @property
    def built(self) -> bool:
        return all(name in self.pages for name in PAGES)

    @property
    def assets(self) -> Path:
        return self.root / "assets"


def load_build(web_dist: str) -> WebBuild:
    root = Path(web_dist)
    if not root.is_absolute():
        root = PROJECT_ROOT / root
    pages = {
        name: (root / f"{name}.html").read_bytes()
        for name in PAGES
        if (root / f"{name}.html").is_file()
    }
    docs_file = root / "docs.json"
    docs = json.loads(docs_file.read_text()) if docs_file.is_file() else {}
    build = WebBuild(root, pages, docs)
    if not build.built:
        log.warning(
            "the web app is not built (%s): its pages answer 503 until `make web` builds it",
            root,
        )
    return build
