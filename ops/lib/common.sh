# Shared by the ops/ scripts: repository paths, building the node and the operator tools, and
# the local services (PostgreSQL, Redis) that tests and cluster profiles use. Sourced, not run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NODE_JAR_DIR="$REPO_ROOT/node/target"
TOOLS_JAR_DIR="$REPO_ROOT/tools/target"

log() { echo "[$(basename "$0")] $*" >&2; }
die() { log "error: $*"; exit 1; }

# Under set -e a failing command ends the script with no word at all (ops/run on a fresh clone
# once exited 2 in silence). Name the command, its status and where it ran instead. errtrace
# makes the trap fire inside functions too; it is also inherited by command substitutions,
# whose failure the enclosing command reports again, so only the top-level shell speaks.
on_error() {
  local status=$1 line=$2 command=$3 file=$4
  [ "$BASH_SUBSHELL" -eq 0 ] || return 0
  log "error: '$command' failed with status $status (${file#"$REPO_ROOT"/} line $line)"
}
set -o errtrace
trap 'on_error $? "$LINENO" "$BASH_COMMAND" "${BASH_SOURCE[0]}"' ERR

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

# The node's jar, or nothing when it is not built yet. A glob, not `ls | head`: on a fresh
# clone (no node/target) ls fails and, under set -euo pipefail, so did every script that asked.
node_jar() {
  local jars=("$NODE_JAR_DIR"/reportcluster-node-*.jar)
  if [ -e "${jars[0]}" ]; then echo "${jars[0]}"; fi
}

# Builds the node unless its jar is newer than every source and config file.
build_node() {
  local jar
  jar=$(node_jar)
  if [ -n "$jar" ] && [ -d "$NODE_JAR_DIR/lib" ] \
     && [ -z "$(find "$REPO_ROOT/pom.xml" "$REPO_ROOT/protocol" "$REPO_ROOT/node/pom.xml" "$REPO_ROOT/node/src/main" \
                  -newer "$jar" -type f -not -path '*/target/*' 2>/dev/null | head -n 1)" ]; then
    return 0
  fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed to build the node: apt-get install maven"
  log "building the node (mvn package, tests skipped)..."
  # Only the node and what it needs: the operator tools are built when a tool first runs.
  (cd "$REPO_ROOT" && mvn -q -B -DskipTests -pl node -am package) || die "build failed"
  [ -n "$(node_jar)" ] || die "the build made no $NODE_JAR_DIR/reportcluster-node-*.jar"
}

# For scripts that start a node without building it. Checked in the calling shell: a die inside
# "$(node_classpath)" would only end the substitution, and java would start without the jar.
require_built_node() {
  [ -n "$(node_jar)" ] && [ -d "$NODE_JAR_DIR/lib" ] || die "the node is not built (no jar in $NODE_JAR_DIR): run ops/run or mvn -DskipTests package"
}

node_classpath() {
  echo "$(node_jar):$NODE_JAR_DIR/lib/*"
}

# The operator tools (tools/: loadgen, chaos, journal-stats) run from their own jar and a copy of
# their dependencies, the node's jar included, in tools/target/lib.
tools_jar() {
  local jars=("$TOOLS_JAR_DIR"/reportcluster-tools-*.jar)
  if [ -e "${jars[0]}" ]; then echo "${jars[0]}"; fi
}

tools_built() {
  [ -n "$(tools_jar)" ] && [ -d "$TOOLS_JAR_DIR/lib" ]
}

# True when the tools are built and their jar is newer than every source and config file they
# are built from (their own, the node's and the protocol's).
tools_fresh() {
  tools_built \
    && [ -z "$(find "$REPO_ROOT/pom.xml" "$REPO_ROOT/protocol" "$REPO_ROOT/node/pom.xml" "$REPO_ROOT/node/src/main" \
                 "$REPO_ROOT/tools/pom.xml" "$REPO_ROOT/tools/src/main" \
                 -newer "$(tools_jar)" -type f -not -path '*/target/*' 2>/dev/null | head -n 1)" ]
}

# Builds the tools unless they are fresh. The build is the whole project's (mvn package), so it
# also builds the node when its sources changed, rewriting its jar in place: scripts that may run
# beside a running node call build_tools_unless_running instead.
build_tools() {
  tools_fresh && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to build the tools: apt-get install maven"
  log "building the tools (mvn package, tests skipped)..."
  # On stderr: the tools' stdout is their summary, which scripts parse.
  (cd "$REPO_ROOT" && mvn -q -B -DskipTests package >&2) || die "build failed"
  tools_built || die "the build made no $TOOLS_JAR_DIR/reportcluster-tools-*.jar"
}

# For a client beside a running node or cluster: builds the tools only when they are not built
# at all (a fresh clone); stale tools run as they are, with a note, rather than rebuild the
# node's jar under a running process.
build_tools_unless_running() {
  if ! tools_built; then
    build_tools
  elif ! tools_fresh; then
    log "note: sources changed since the tools were built; running them as built (mvn -DskipTests package rebuilds)"
  fi
}

tools_classpath() {
  echo "$(tools_jar):$TOOLS_JAR_DIR/lib/*"
}

# Prefer JAVA_HOME when set, as Maven does; fall back to java on the PATH.
java_cmd() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"; else echo java; fi
}

# run_tool "<JVM options>" TOOL [ARGS...]: one of the tools, in the foreground.
run_tool() {
  local jvm_opts=$1
  shift
  # shellcheck disable=SC2086
  "$(java_cmd)" $jvm_opts -cp "$(tools_classpath)" io.reportcluster.tools.Main "$@"
}

# PostgreSQL on 127.0.0.1:5432: started when installed but stopped, installed when missing.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    log "PostgreSQL is not installed: installing it with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
      || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; } \
      || die "could not install postgresql"
    # A development machine: trust loopback connections, as the tests and profiles expect.
    local hba
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  fi
  local version
  version=$(ls /etc/postgresql | head -n 1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 0.5; done
  die "PostgreSQL did not become ready on 127.0.0.1:5432"
}

# Creates a database on the local server unless it exists.
ensure_database() {
  local name=$1
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    log "creating database $name"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $name" >/dev/null || die "cannot create database $name"
  fi
}

# Redis on 127.0.0.1:6379: started when installed but stopped, installed when missing.
ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  if ! command -v redis-server >/dev/null; then
    log "Redis is not installed: installing it with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null \
      || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; } \
      || die "could not install redis-server"
  fi
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
  for _ in $(seq 1 40); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.25; done
  die "Redis did not become ready on 127.0.0.1:6379"
}

# Debian's chromium and its chromedriver, for the dashboard's browser test (DashboardBrowserIT):
# installed with apt-get when missing. The test finds them at /usr/bin; it never downloads a browser.
ensure_chromium() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then return 0; fi
  log "chromium is not installed: installing chromium and chromium-driver with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null \
    || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; } \
    || die "could not install chromium and chromium-driver"
}
