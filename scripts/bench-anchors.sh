#!/usr/bin/env sh
# Installs the anchors `npm run bench` compares the mirror with, when they are missing. Safe to
# run again; every step is optional: a bench whose anchor is missing prints why and skips it.
#   - nginx (Debian's nginx-light), docker-registry and wrk (the load generator), from apt (sudo when not root);
#   - Verdaccio 6.8.0 (the last release that runs on Node 20) into .bench/verdaccio, NOT a
#     dependency of the project. Its verdaccio-audit asks for node-fetch@cjs, a dist-tag that
#     registries keeping only `latest` cannot resolve: the override pins node-fetch 2.7.0.
# The Debian packages are never started as system services: the bench runs them as its own
# processes on 127.0.0.1 with configs in temp directories.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
need=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need="$need docker-registry"
# The load generator (bench/load-child.ts falls back to autocannon without it).
command -v wrk >/dev/null 2>&1 || need="$need wrk"
if [ -n "$need" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "bench anchors: installing$need"
  # policy-rc.d 101: the package must not start nginx as a service on port 80.
  if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; added_policy=1; fi
  # shellcheck disable=SC2086
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need; } || echo "bench anchors: apt-get install$need failed; those anchors will be skipped"
  [ "${added_policy:-0}" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
VERDACCIO_VERSION=6.8.0
dir="$root/.bench/verdaccio"
if [ ! -x "$dir/node_modules/.bin/verdaccio" ]; then
  echo "bench anchors: installing verdaccio@$VERDACCIO_VERSION into $dir"
  mkdir -p "$dir"
  cat > "$dir/package.json" <<JSON
{
  "name": "countersign-bench-verdaccio",
  "private": true,
  "dependencies": { "verdaccio": "$VERDACCIO_VERSION" },
  "overrides": { "verdaccio-audit": { "node-fetch": "2.7.0" } }
}
JSON
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error) || echo "bench anchors: npm install verdaccio failed; the Verdaccio anchor will be skipped"
fi
echo "bench anchors: nginx $(/usr/sbin/nginx -v 2>&1 | sed 's/.*\///'); verdaccio $([ -x "$dir/node_modules/.bin/verdaccio" ] && echo $VERDACCIO_VERSION || echo missing)"
