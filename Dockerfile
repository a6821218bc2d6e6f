# The web, worker and integrations image: `docker compose up` runs it against postgres and redis.

# The browser app (viewer, dashboard, overlay, API docs assets), built once; only web/dist ships.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.9 \
    && useradd --system --create-home --uid 10001 streampools
WORKDIR /srv/streampools

# Dependencies first (cached while only the code changes); no embedded servers, no dev tools.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project
COPY app ./app
COPY integrations ./integrations
COPY realtime ./realtime
COPY workers ./workers
COPY migrations ./migrations
COPY --from=web /web/dist ./web/dist
RUN uv sync --frozen --no-default-groups

USER streampools
EXPOSE 8000
CMD ["streampools", "web", "--host", "0.0.0.0", "--port", "8000"]
