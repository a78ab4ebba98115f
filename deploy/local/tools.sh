#!/usr/bin/env bash
# Command-line tools and system files the tests use besides the servers: Debian's docker-compose
# (validates docker-compose.yml; no Docker engine is needed for `docker-compose config`), a CJK font,
# and PostgreSQL's server binaries.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_TAG=tools
command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
# A TrueType CJK font for the generated e-invoice PDF fixtures (tests, bench); reportlab cannot embed
# the CFF-outline Noto CJK fonts, WenQuanYi Micro Hei is TrueType and small.
[[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || apt_install fonts-wqy-microhei
# Noto Sans CJK for the analytics charts (matplotlib reads its OpenType collection); the charts fall
# back to WenQuanYi, then to English labels, when it is missing.
[[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]] || apt_install fonts-noto-cjk
# Debian's Chromium for the web app's browser tests: Playwright drives /usr/bin/chromium (it never
# downloads a browser of its own).
[[ -x /usr/bin/chromium ]] || apt_install chromium
# PostgreSQL server binaries for the accounts-store test on PostgreSQL (tests/integration/
# postgres_server.py runs its own initdb + pg_ctl cluster on a temporary folder; Debian's own cluster
# is not used).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_install postgresql
