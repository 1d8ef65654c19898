# Shared by the benchmarks: a node on a fresh PostgreSQL database, started and stopped by PID,
# and the journal's figures (tools: journal-stats).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

BENCH_DB=${BENCH_DB:-reportcluster_bench}
BENCH_PORT=${BENCH_PORT:-18080}
NODE_PID=

fresh_database() {
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $BENCH_DB" >/dev/null
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $BENCH_DB" >/dev/null
}

# start_node <log file>: environment variables (REPORTS_*) configure it.
start_node() {
  local logfile=$1
  REPORTS_DB_URL="jdbc:postgresql://127.0.0.1:5432/$BENCH_DB" REPORTS_HTTP_PORT=$BENCH_PORT \
    java -Xmx${BENCH_HEAP:-1g} -Dconfig.file="$REPO_ROOT/config/postgres.conf" -cp "$(node_classpath)" \
    io.reportcluster.node.Main >"$logfile" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 240); do
    curl -sf "http://127.0.0.1:$BENCH_PORT/api/v1/node/stats" >/dev/null && return 0
    kill -0 "$NODE_PID" 2>/dev/null || die "node exited; see $logfile"
    sleep 0.25
  done
  die "node did not start; see $logfile"
}

stop_node() {
  [ -n "$NODE_PID" ] || return 0
  kill "$NODE_PID" 2>/dev/null || true
  wait "$NODE_PID" 2>/dev/null || true
  NODE_PID=
}
trap stop_node EXIT

# journal_stats PROFILE DATABASE [OPTIONS...]: 'key: value' figures of a journal on the local
# PostgreSQL (submitted, succeeded, first_submitted_ms, last_succeeded_ms, span_s, ...), read by
# the tools' journal-stats as typed events with the node profile (config/PROFILE.conf) it ran with.
journal_stats() {
  local profile=$1 database=$2
  shift 2
  run_tool "-Xmx256m -XX:+UseSerialGC" journal-stats --config "$REPO_ROOT/config/$profile.conf" \
    --db-url "jdbc:postgresql://127.0.0.1:5432/$database" "$@"
}

# stat_value KEY: the value of the 'KEY: value' line on stdin.
stat_value() { sed -n "s/^$1: //p"; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# usage: the header comment of the running script (its lines up to set -euo pipefail), for --help.
usage() { sed -n '2,/^set -euo pipefail/{/^#/s/^# \{0,1\}//p}' "$0"; }
