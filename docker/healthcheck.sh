#!/bin/sh
# The image's HEALTHCHECK. It runs the health check of the app this container runs, which
# it reads from PID 1's command line (tini -- node … dist/apps/<app>/src/main.js): that
# asks the app's own GET /health/ready, on the port its settings give (API_PORT,
# RELAY_HTTP_PORT, DISPATCHER_HTTP_PORT). A one-shot console command has nothing
# long-running to check.
set -eu
app=$(tr '\0' '\n' </proc/1/cmdline | sed -n 's#^\(/app/\)\{0,1\}dist/apps/\([a-z]*\)/src/main\.js$#\2#p')
case "$app" in
  api | relay | dispatcher) exec node "/app/dist/apps/$app/src/health.js" ;;
  *) exit 0 ;;
esac
