#!/usr/bin/env bash
# Write benchmark of issue 6, run by hand (not in CI): wrk posts 5,000-line
# TSBS cpu-only batches (1,000 hosts, ~346 bytes/line) at each concurrency,
# side by side against
#   tandem1  `tandemd` single node, RF=1              (/write?db=bench)
#   tandem3  `tandemd dev --nodes 3`, database dev RF=3 (/write?db=dev&consistency=quorum)
#   influxd  influxd 1.6.7 (Debian `influxdb`), fresh data dir, wal-fsync-delay 0s
# Every (server, concurrency) pair gets a fresh process and data dir and
# posts the same corpus once. Reported: points/s (a point = one line of 10
# fields), p50/p99/p99.9/max request latency, the server's peak RSS (VmHWM)
# and the CPU seconds it used during the load (utime+stime delta), plus
# wrk's own CPU and the 1-minute load average at the end of the run (other
# work on the machine shows there). Client and servers share the cores.
#
# Usage: bench/write_bench.sh            (from anywhere; builds release binaries)
# Environment:
#   POINTS=10000000      lines per run (a multiple of LINES)
#   LINES=5000           lines per request body
#   CONCURRENCY="2 4"    wrk connections (one thread each)
#   TARGETS="tandem1 tandem3 influxd"
#   WORK=/tmp/tandem-write-bench   corpus, data dirs, logs and results
#   BASE_PORT=28086      HTTP port; tandem3 uses BASE_PORT+0..+205, see `tandemd dev`
#   VERIFY=1             after each run, count the stored points (tandem:
#                        /export per owner; influxd: SELECT count)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
POINTS="${POINTS:-10000000}"
LINES="${LINES:-5000}"
CONCURRENCY="${CONCURRENCY:-2 4}"
TARGETS="${TARGETS:-tandem1 tandem3 influxd}"
WORK="${WORK:-/tmp/tandem-write-bench}"
BASE_PORT="${BASE_PORT:-28086}"
VERIFY="${VERIFY:-1}"
HOSTS=1000
TICKS="$(getconf CLK_TCK)"

die() { echo "write_bench: $*" >&2; exit 1; }
(( POINTS % LINES == 0 )) || die "POINTS must be a multiple of LINES"
BODIES=$(( POINTS / LINES ))
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v influxd >/dev/null || [[ " $TARGETS " != *" influxd "* ]] || die "influxd not found (apt-get install influxdb)"

echo "== building release binaries"
(cd "$ROOT" && cargo build --release -p tandem-tsbs --bin tsbs-gen)
if [[ "$TARGETS" == *tandem* ]]; then
    (cd "$ROOT" && cargo build --release -p tandemd --bin tandemd)
fi
TANDEMD="$ROOT/target/release/tandemd"
TSBS_GEN="$ROOT/target/release/tsbs-gen"

mkdir -p "$WORK"
CORPUS="$WORK/corpus-$HOSTS-$POINTS-$LINES"
if [[ ! -f "$CORPUS/done" ]]; then
    echo "== generating $POINTS TSBS cpu-only lines into $CORPUS"
    rm -rf "$CORPUS" && mkdir -p "$CORPUS"
    "$TSBS_GEN" "$HOSTS" "$POINTS" | split -l "$LINES" -d -a 5 --additional-suffix=.lp - "$CORPUS/"
    touch "$CORPUS/done"
fi
CORPUS_BYTES=$(du -sb "$CORPUS" | cut -f1)
echo "== corpus: $BODIES bodies, $CORPUS_BYTES bytes ($(( CORPUS_BYTES / POINTS )) bytes/line)"

PID=""
stop_server() {
    if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=""
}
trap stop_server EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_http() { # url, seconds
    for _ in $(seq 1 $(( $2 * 10 ))); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1/ping")" == 204 ]] && return 0
        kill -0 "$PID" 2>/dev/null || die "server exited; see its log"
        sleep 0.1
    done
    die "$1 did not come up"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
query() { curl -sf -XPOST "$1/query" --data-urlencode "q=$2"; }

# start_<target> DIR: starts the server (PID), sets URL and WRITE_PATH.
start_tandem1() {
    local p=$BASE_PORT
    for port in $p $((p + 2)) $((p + 3)) $((p + 5)); do port_free "$port" || die "port $port is busy"; done
    TANDEM_NODE_DATA_DIR="$1" \
    TANDEM_HTTP_BIND_ADDRESS="127.0.0.1:$p" \
    TANDEM_DATA_BIND="127.0.0.1:$((p + 2))" \
    TANDEM_META_RAFT_BIND="127.0.0.1:$((p + 3))" \
    TANDEM_META_API_BIND="127.0.0.1:$((p + 5))" \
    TANDEM_META_CLIENT_ENDPOINTS="[\"127.0.0.1:$((p + 5))\"]" \
    RUST_LOG=warn "$TANDEMD" >"$1.log" 2>&1 &
    PID=$!
    URL="http://127.0.0.1:$p"
    wait_http "$URL" 60
    query "$URL" "CREATE DATABASE bench" >/dev/null
    WRITE_PATH="/write?db=bench"
    OWNER_URLS="$URL"
}

start_tandem3() {
    local p=$BASE_PORT
    for i in 0 1 2; do
        for off in 0 2 3 5; do port_free $((p + 100 * i + off)) || die "port $((p + 100 * i + off)) is busy"; done
    done
    RUST_LOG=warn "$TANDEMD" dev --nodes 3 --base-port "$p" --data-dir "$1" >"$1.log" 2>&1 &
    PID=$!
    URL="http://127.0.0.1:$p"
    for _ in $(seq 1 600); do
        grep -q 'is ready' "$1.log" 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || die "tandemd dev exited; see $1.log"
        sleep 0.1
    done
    grep -q 'is ready' "$1.log" || die "tandemd dev did not get ready"
    wait_http "$URL" 60
    WRITE_PATH="/write?db=dev&consistency=quorum"
    OWNER_URLS="$URL http://127.0.0.1:$((p + 100)) http://127.0.0.1:$((p + 200))"
}

start_influxd() {
    local p=$BASE_PORT
    for port in $p $((p + 2)); do port_free "$port" || die "port $port is busy"; done
    mkdir -p "$1"
    cat >"$1/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$((p + 2))"
[meta]
  dir = "$1/meta"
[data]
  dir = "$1/data"
  wal-dir = "$1/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$p"
  log-enabled = false
[continuous_queries]
  enabled = false
EOF
    influxd -config "$1/influxdb.conf" >"$1.log" 2>&1 &
    PID=$!
    URL="http://127.0.0.1:$p"
    wait_http "$URL" 60
    query "$URL" "CREATE DATABASE bench" >/dev/null
    WRITE_PATH="/write?db=bench"
    OWNER_URLS=""
}

# verify_<target>: prints the stored point count (per owner for tandem).
verify_tandem() {
    local db=$1 counts=()
    for u in $OWNER_URLS; do
        counts+=("$(curl -sf "$u/export?db=$db&scope=local" | grep -c '^cpu,' || true)")
    done
    echo "${counts[*]}"
}
verify_tandem1() { verify_tandem bench; }
verify_tandem3() { verify_tandem dev; }
verify_influxd() {
    query "$URL" "SELECT count(usage_user) FROM bench.autogen.cpu" \
        | sed -n 's/.*"values":\[\["[^"]*",\([0-9]*\)\]\].*/\1/p'
}

RESULTS="$WORK/results.md"
{
    echo "| server | conc. | points | s | points/s | p50 ms | p99 ms | p99.9 ms | max ms | peak RSS MiB | server CPU s | wrk CPU s | load | non-204 | stored |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
} >"$RESULTS"
declare -A RATE

# Servers alternate within each concurrency, so background load drifting
# over the run hits them alike.
for c in $CONCURRENCY; do
    for target in $TARGETS; do
        dir="$WORK/run/$target-c$c"
        rm -rf "$dir" "$dir.log" && mkdir -p "$(dirname "$dir")"
        echo "== $target, concurrency $c"
        "start_$target" "$dir"
        sleep 1
        cpu0=$(cpu_ticks "$PID")
        out="$WORK/run/$target-c$c.wrk"
        marks="$WORK/run/$target-c$c.marks"
        rm -rf "$marks" && mkdir -p "$marks"
        /usr/bin/time -f 'WRKCPU %U %S' -o "$out.time" \
            wrk -t "$c" -c "$c" -d 3600s --timeout 60s --latency -s "$ROOT/bench/write_bench.lua" \
            "$URL" -- "$CORPUS" "$BODIES" "$LINES" "$WRITE_PATH" "$c" "$marks" | tee "$out"
        grep -q "^RESULT requests=$BODIES " "$out" || die "wrk did not post every body once; see $out"
        cpu1=$(cpu_ticks "$PID")
        rss=$(peak_rss_kib "$PID")
        load=$(cut -d' ' -f1 /proc/loadavg)
        stored="-"
        if [[ "$VERIFY" == 1 ]]; then
            echo "   counting stored points..."
            stored="$("verify_$target")"
        fi
        stop_server
        line=$(grep '^RESULT' "$out")
        get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
        wrkcpu=$(awk '/^WRKCPU/ {printf "%.1f", $2 + $3}' "$out.time")
        RATE[$target-$c]=$(get points_per_s)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
            "$target" "$c" "$(get points)" "$(get seconds)" "$(get points_per_s)" \
            "$(get p50_ms)" "$(get p99_ms)" "$(get p999_ms)" "$(get max_ms)" \
            "$(( rss / 1024 ))" "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICKS" 'BEGIN {printf "%.1f", (b - a) / t}')" \
            "$wrkcpu" "$load" "$(get non204)" "$stored" >>"$RESULTS"
        rm -rf "$dir"
    done
done

{
    echo
    for c in $CONCURRENCY; do
        base=${RATE[influxd-$c]:-}
        [[ -n "$base" && "$base" != 0 ]] || continue
        for t in tandem1 tandem3; do
            r=${RATE[$t-$c]:-}
            if [[ -n "$r" ]]; then
                awk -v t="$t" -v c="$c" -v r="$r" -v b="$base" \
                    'BEGIN {printf "- %s / influxd at concurrency %s: %.2fx\n", t, c, r / b}'
            fi
        done
    done
} >>"$RESULTS"
echo
echo "== results ($RESULTS)"
cat "$RESULTS"
