#!/usr/bin/env bash
# Install Debian's Chromium for the dashboard's end-to-end test (headless, driven by Python
# Playwright through executable_path; Playwright's own browser downloads are never used).
# Idempotent and quiet when Chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -n "$0" "$@"
    fi
    echo "install_browser: /usr/bin/chromium is missing and this user cannot run apt-get" >&2
    exit 1
fi
echo "install_browser: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q chromium
/usr/bin/chromium --version
