#!/usr/bin/env bash
# Fault tests on a real docker-compose cluster (3 full nodes + a write-only
# front-end, see docker-compose.yml): a killed owner, a restarted owner and a
# partitioned owner, each checked against Enterprise's consistency outcomes
# and against what every owner holds afterwards.
#
#   deploy/fault-test.sh            # builds the image from the debug binary
#   TANDEM_TAG=latest deploy/fault-test.sh   # use an image built already
set -euo pipefail
cd "$(dirname "$0")"
project=tandemft$$
export TANDEM_TAG="${TANDEM_TAG:-faulttest}"
export TANDEM_FRONT_PORT=${TANDEM_FRONT_PORT:-48086} TANDEM_NODE1_PORT=${TANDEM_NODE1_PORT:-48186} \
  TANDEM_NODE2_PORT=${TANDEM_NODE2_PORT:-48286} TANDEM_NODE3_PORT=${TANDEM_NODE3_PORT:-48386}
export TANDEM_WRITE_TIMEOUT=3s
# The compose v2 plugin when the engine has it, else the v1 binary.
if docker compose version >/dev/null 2>&1; then compose_cmd=(docker compose); else compose_cmd=(docker-compose); fi
compose() { "${compose_cmd[@]}" -p "$project" -f docker-compose.yml "$@"; }
if [ "$TANDEM_TAG" = faulttest ]; then ./build-image.sh debug faulttest; fi

fail=0
cleanup() {
  if [ "$fail" != 0 ]; then compose logs --tail=80 || true; fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
}
trap cleanup EXIT

front="http://127.0.0.1:$TANDEM_FRONT_PORT"
node_url() { local p="TANDEM_NODE$1_PORT"; echo "http://127.0.0.1:${!p}"; }

wait_healthy() { # url
  for _ in $(seq 1 120); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/health")" = 200 ]; then return 0; fi
    sleep 0.5
  done
  echo "FAIL: $1 not healthy" >&2; fail=1; exit 1
}

# write LEVEL LINE EXPECTED_STATUS [EXPECTED_BODY_SUBSTRING]
write() {
  local out status
  out=$(curl -s -w '\n%{http_code}' "$front/write?db=ft&consistency=$1" --data-binary "$2")
  status=$(tail -n1 <<<"$out")
  if [ "$status" != "$3" ] || { [ -n "${4:-}" ] && ! grep -qF "$4" <<<"$out"; }; then
    echo "FAIL: write $1 '$2': got $status $(head -n1 <<<"$out"), want $3 ${4:-}" >&2; fail=1; exit 1
  fi
  echo "ok: consistency=$1 -> $status $(head -n1 <<<"$out" | cut -c1-80)"
}

# holds NODE LINE: the node's own copy contains the point
holds() {
  for _ in $(seq 1 60); do
    if curl -s "$(node_url "$1")/export?db=ft&scope=local" | grep -qF "$2"; then echo "ok: node$1 holds '$2'"; return 0; fi
    sleep 0.5
  done
  echo "FAIL: node$1 does not hold '$2'" >&2; fail=1; exit 1
}

compose up -d
for n in 1 2 3; do wait_healthy "$(node_url $n)"; done
wait_healthy "$front"
curl -sf "$front/query" --data-urlencode 'q=CREATE DATABASE ft WITH REPLICATION 3' >/dev/null

t=$(( $(date +%s) * 1000000000 ))
write all "m,case=healthy v=1 $t" 204
for n in 1 2 3; do holds $n "m,case=healthy v=1 $t"; done

echo "--- node3 killed"
compose kill -s SIGKILL node3 >/dev/null
write quorum "m,case=killed v=1 $t" 204
write all "m,case=killed-all v=1 $t" 500 'partial write'
holds 1 "m,case=killed v=1 $t"; holds 2 "m,case=killed v=1 $t"

echo "--- node3 restarted"
compose start node3 >/dev/null
wait_healthy "$(node_url 3)"
for _ in $(seq 1 30); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$front/write?db=ft&consistency=all" --data-binary "m,case=restarted v=1 $t")
  [ "$code" = 204 ] && break; sleep 0.5
done
write all "m,case=restarted v=1 $t" 204
holds 3 "m,case=restarted v=1 $t"
holds 3 "m,case=healthy v=1 $t"

echo "--- node2 partitioned"
net="${project}_tandem"
docker network disconnect "$net" "${project}_node2_1" 2>/dev/null || docker network disconnect "$net" "${project}-node2-1"
write quorum "m,case=partitioned v=1 $t" 204
write all "m,case=partitioned-all v=1 $t" 500
docker network connect --alias node2 "$net" "${project}_node2_1" 2>/dev/null || docker network connect --alias node2 "$net" "${project}-node2-1"
for _ in $(seq 1 60); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$front/write?db=ft&consistency=all" --data-binary "m,case=healed v=1 $t")
  [ "$code" = 204 ] && break; sleep 0.5
done
write all "m,case=healed v=1 $t" 204
for n in 1 2 3; do holds $n "m,case=healed v=1 $t"; done
echo "fault tests passed"
