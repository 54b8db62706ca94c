#!/usr/bin/env bash
# Make Debian's Chromium available for the browser tests (tests/browser).
#
# Never downloads a browser from anywhere else: it installs the distribution's `chromium` and
# `chromium-driver` packages. Under CI=true a missing browser is installed, and if that fails
# the script exits 1 (CI must never silently skip the browser tests). Outside CI it only says
# that the browser tests will be skipped.
set -uo pipefail

BROWSER=/usr/bin/chromium

NAME=ensure-browser
# shellcheck source=scripts/ci-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/ci-lib.sh"

if [[ -x "$BROWSER" ]]; then
    exit 0
fi
if ! is_ci; then
    log "$BROWSER not found: the browser tests will be skipped (apt-get install -y chromium chromium-driver)"
    exit 0
fi
log "installing Debian's chromium and chromium-driver"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2 \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver >&2
if [[ ! -x "$BROWSER" ]]; then
    log "FAILED: $BROWSER is still missing; the browser tests cannot run in CI"
    exit 1
fi
log "$("$BROWSER" --version 2>/dev/null || echo chromium installed)"
