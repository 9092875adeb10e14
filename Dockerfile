# golive: one image for the worker and the HTTP server (`golive worker` / `golive server`).
FROM node:20.20.2-bookworm-slim

# pg_dump / pg_restore for backup and restore drills; tini forwards SIGTERM so runs drain cleanly.
RUN apt-get update \
  && apt-get install -y --no-install-recommends postgresql-client tini \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
RUN ln -s /app/bin/golive.mjs /usr/local/bin/golive \
  && groupadd --system golive \
  && useradd --system --gid golive --create-home --home-dir /home/golive golive

USER golive
ENV GOLIVE_HOME=/home/golive/.golive \
  GOLIVE_HTTP_HOST=0.0.0.0 \
  GOLIVE_HTTP_PORT=8080
EXPOSE 8080
ENTRYPOINT ["tini", "--", "golive"]
CMD ["server"]
