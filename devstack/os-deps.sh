#!/usr/bin/env bash
# Installs the Debian packages the local substrate needs, only when one is missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v etcd >/dev/null || need+=(etcd-server)
command -v ip >/dev/null || need+=(iproute2)
command -v kcat >/dev/null || need+=(kcat)
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
command -v mvn >/dev/null || need+=(maven)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v go >/dev/null || need+=(golang-go)
command -v chromium >/dev/null || need+=(chromium)  # the console's browser tests (Playwright drives it)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
