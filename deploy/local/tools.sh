#!/usr/bin/env bash
# Command-line tools the tests use besides the servers: Debian's docker-compose (validates
# docker-compose.yml; no Docker engine is needed for `docker-compose config`).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_TAG=tools
command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
