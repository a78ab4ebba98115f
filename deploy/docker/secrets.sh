#!/usr/bin/env bash
# Write the secrets docker-compose.yml needs into .env beside it (compose reads that file), each a fresh
# random value; a secret already in .env is kept, so re-running never rotates anything by surprise.
#
#   deploy/docker/secrets.sh [ENV_FILE]      # default: <repo>/.env (git-ignored)
#
# Kafka SCRAM users are created when the broker's volume is formatted: after changing a KAFKA_*
# password, `docker-compose down -v`. The SM4 keys encrypt data at rest: keep .env backed up.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ENV_FILE=${1:-$ROOT/.env}
touch "$ENV_FILE"
chmod 600 "$ENV_FILE"

hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }  # $1 random bytes, as hex

put() {  # name value: appended unless the file already sets it
    grep -q "^$1=" "$ENV_FILE" || echo "$1=$2" >>"$ENV_FILE"
}

put FAPIAO_SECRET_KEY "$(hex 32)"
put FAPIAO_SM4_KEYS "k1:$(hex 16)"
put FAPIAO_SM4_ACTIVE_KEY k1
put FAPIAO_HMAC_KEY "$(hex 32)"
put POSTGRES_PASSWORD "$(hex 24)"
put CLICKHOUSE_PASSWORD "$(hex 24)"
put GRAFANA_ADMIN_PASSWORD "$(hex 16)"
for user in ADMIN API WORKER ENTERPRISE ANALYST DEMO OPS WEBHOOKS; do
    put "KAFKA_${user}_PASSWORD" "$(hex 24)"
done
echo "secrets in $ENV_FILE"
