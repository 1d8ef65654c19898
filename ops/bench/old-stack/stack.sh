# shellcheck shell=bash
# The OLD design that reportcluster replaces, runnable beside it for side-by-side figures:
# Flask (app.py) behind Gunicorn (2 workers x 2 threads, gthread), a Celery worker (tasks.py,
# prefork, --concurrency 4), and Redis as broker AND result backend. Sourced, not run:
#
#   source ops/bench/old-stack/stack.sh
#   old_stack_start [--worker | --no-worker]   # Redis, Gunicorn, (Celery); waits until it answers
#   curl -s -XPOST localhost:18090/generate -H 'Content-Type: application/json' -d '{"startup": "X"}'
#   old_stack_rss_mb                           # RSS of every process of the stack, MB
#   old_stack_queued                           # messages waiting in the broker list "celery"
#   old_stack_stop                             # stops only what old_stack_start started
#
# Debian's packages only (python3-celery, python3-flask, gunicorn, python3-redis, redis-server),
# installed with apt-get when missing, run by /usr/bin/python3: the python3 first on the PATH may
# be another interpreter (pyenv) without them. The stack has its own redis-server on a private
# port (OLD_REDIS_PORT, default 6391; no snapshots, no AOF), so the shared Redis on 6379 is never
# touched. OLD_HTTP_PORT (default 18090) is the API's port; OLD_STEPS and OLD_CALL_MS (default 5
# steps of 400 ms: a 2 s report) and OLD_FAIL_RATE shape the task (see tasks.py). Logs go to
# OLD_STACK_LOG_DIR (default: a new temporary directory, printed).

if ! declare -F as_root >/dev/null; then
  source "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
fi

OLD_STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OLD_REDIS_PORT=${OLD_REDIS_PORT:-6391}
OLD_HTTP_PORT=${OLD_HTTP_PORT:-18090}
OLD_PYTHON=/usr/bin/python3
OLD_REDIS_PID=
OLD_GUNICORN_PID=
OLD_CELERY_PID=

# Debian's packages of the old stack, installed when missing (like ensure_redis does).
old_stack_ensure_packages() {
  local missing=()
  if ! [ -x "$OLD_PYTHON" ] || ! "$OLD_PYTHON" -c 'import celery, flask, redis, gunicorn' 2>/dev/null; then
    missing+=(python3 python3-celery python3-flask gunicorn python3-redis)
  fi
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    missing+=(redis-server)
  fi
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing ${missing[*]} with apt-get (the old stack runs on Debian's packages)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
    || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; } \
    || die "could not install ${missing[*]}"
}

# _old_stack_tree PID...: the PIDs and all their descendants, one a line.
_old_stack_tree() {
  local p
  for p in "$@"; do
    [ -n "$p" ] || continue
    kill -0 "$p" 2>/dev/null || continue
    echo "$p"
    # shellcheck disable=SC2046
    _old_stack_tree $(ps -o pid= --ppid "$p" 2>/dev/null || true)
  done
}

# Every process of the stack now: redis-server, the Gunicorn master and workers, the Celery
# master and its pool children.
old_stack_pids() {
  # Unquoted: a PID not set (no worker) is no argument.
  # shellcheck disable=SC2086
  _old_stack_tree $OLD_REDIS_PID $OLD_GUNICORN_PID $OLD_CELERY_PID
}

_old_stack_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# old_stack_start [--worker | --no-worker]: a fresh stack (an empty Redis). --no-worker leaves
# the Celery worker out, so that submitted jobs stay queued in the broker (as with a worker that
# is down or busy for hours).
old_stack_start() {
  local worker=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --worker | --workers) worker=1 ;;
      --no-worker) worker= ;;
      *) die "old_stack_start: unknown argument $1" ;;
    esac
    shift
  done
  [ -z "$OLD_REDIS_PID" ] || die "old_stack_start: the old stack is already running"
  old_stack_ensure_packages
  _old_stack_port_busy "$OLD_REDIS_PORT" && die "port $OLD_REDIS_PORT is in use (set OLD_REDIS_PORT)"
  _old_stack_port_busy "$OLD_HTTP_PORT" && die "port $OLD_HTTP_PORT is in use (set OLD_HTTP_PORT)"
  if [ -z "${OLD_STACK_LOG_DIR:-}" ]; then
    OLD_STACK_LOG_DIR=$(mktemp -d -t old-stack.XXXXXX)
    log "old stack logs in $OLD_STACK_LOG_DIR"
  fi
  mkdir -p "$OLD_STACK_LOG_DIR"

  # Not daemonized, so that $! is its PID and it can be stopped by PID; nothing written to disk.
  redis-server --bind 127.0.0.1 --port "$OLD_REDIS_PORT" --save '' --appendonly no --daemonize no \
    --dir "$OLD_STACK_LOG_DIR" --logfile "$OLD_STACK_LOG_DIR/redis.log" &
  OLD_REDIS_PID=$!
  local i
  for i in $(seq 1 40); do
    redis-cli -p "$OLD_REDIS_PORT" ping >/dev/null 2>&1 && break
    kill -0 "$OLD_REDIS_PID" 2>/dev/null || die "redis-server exited; see $OLD_STACK_LOG_DIR/redis.log"
    [ "$i" -lt 40 ] || die "redis-server did not answer on port $OLD_REDIS_PORT"
    sleep 0.25
  done

  # The environment of both Python sides: Debian's interpreter, its own modules only, no .pyc
  # files written into the repository.
  local pyenv=(env -u PYTHONPATH -u PYTHONHOME PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
    OLD_REDIS_URL="redis://127.0.0.1:$OLD_REDIS_PORT/0"
    OLD_STEPS="${OLD_STEPS:-5}" OLD_CALL_MS="${OLD_CALL_MS:-400}" OLD_FAIL_RATE="${OLD_FAIL_RATE:-0}")

  # As the old design ran it: 2 Gunicorn workers of 2 threads each (gthread), no access log.
  "${pyenv[@]}" "$OLD_PYTHON" -m gunicorn --chdir "$OLD_STACK_DIR" --workers 2 --threads 2 \
    --worker-class gthread --bind "127.0.0.1:$OLD_HTTP_PORT" --log-level warning \
    --error-logfile "$OLD_STACK_LOG_DIR/gunicorn.log" app:app &
  OLD_GUNICORN_PID=$!

  if [ -n "$worker" ]; then
    # INFO, so that "ready." tells when the worker consumes (and each task leaves a line).
    "${pyenv[@]}" "$OLD_PYTHON" -m celery --workdir "$OLD_STACK_DIR" --app tasks worker \
      --pool prefork --concurrency 4 --hostname "oldstack-$$@%h" --loglevel INFO \
      --logfile "$OLD_STACK_LOG_DIR/celery.log" >"$OLD_STACK_LOG_DIR/celery.out" 2>&1 &
    OLD_CELERY_PID=$!
  fi

  for i in $(seq 1 120); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OLD_HTTP_PORT/status/x" 2>/dev/null)" = 200 ] && break
    kill -0 "$OLD_GUNICORN_PID" 2>/dev/null || die "gunicorn exited; see $OLD_STACK_LOG_DIR/gunicorn.log"
    [ "$i" -lt 120 ] || die "the old stack's API did not answer on port $OLD_HTTP_PORT; see $OLD_STACK_LOG_DIR"
    sleep 0.25
  done
  if [ -n "$worker" ]; then
    for i in $(seq 1 120); do
      grep -q 'ready\.' "$OLD_STACK_LOG_DIR/celery.log" 2>/dev/null && break
      kill -0 "$OLD_CELERY_PID" 2>/dev/null || die "the celery worker exited; see $OLD_STACK_LOG_DIR/celery.out"
      [ "$i" -lt 120 ] || die "the celery worker did not become ready; see $OLD_STACK_LOG_DIR/celery.log"
      sleep 0.25
    done
  fi
}

# Stops what old_stack_start started, and only that: the Celery and Gunicorn masters get SIGTERM
# (Celery's warm shutdown lets a running task end), and every process of their trees that is
# still there after 15 s gets SIGKILL; then redis-server. Its data is gone with it.
old_stack_stop() {
  local pids p
  # shellcheck disable=SC2086
  pids=$(_old_stack_tree $OLD_CELERY_PID $OLD_GUNICORN_PID)
  for p in $OLD_CELERY_PID $OLD_GUNICORN_PID; do kill -TERM "$p" 2>/dev/null || true; done
  if [ -n "$pids" ]; then
    for _ in $(seq 1 60); do
      # shellcheck disable=SC2086
      kill -0 $pids 2>/dev/null || break
      sleep 0.25
    done
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  if [ -n "$OLD_REDIS_PID" ]; then
    kill -TERM "$OLD_REDIS_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$OLD_REDIS_PID" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$OLD_REDIS_PID" 2>/dev/null || true
  fi
  for p in $OLD_CELERY_PID $OLD_GUNICORN_PID $OLD_REDIS_PID; do wait "$p" 2>/dev/null || true; done
  OLD_REDIS_PID='' OLD_GUNICORN_PID='' OLD_CELERY_PID=''
}

# Resident memory of the whole stack, in MB (one decimal): every process old_stack_pids lists.
old_stack_rss_mb() {
  local pids
  pids=$(old_stack_pids | paste -sd, -)
  [ -n "$pids" ] || { echo 0; return 0; }
  ps -o rss= -p "$pids" | awk '{s += $1} END {printf "%.1f\n", s / 1024}'
}

# Messages waiting in the broker (Celery's default queue is the Redis list "celery").
old_stack_queued() {
  redis-cli -p "$OLD_REDIS_PORT" llen celery
}

# Every task the broker and the backend know of: waiting (the list), prefetched by the worker
# and not yet acknowledged (the transport's "unacked" hash), or started or done (a result key:
# task_track_started writes one when a task starts). On a fresh stack, the submits it accepted.
old_stack_accounted() {
  local queued unacked results
  queued=$(redis-cli -p "$OLD_REDIS_PORT" llen celery)
  unacked=$(redis-cli -p "$OLD_REDIS_PORT" hlen unacked)
  results=$(redis-cli -p "$OLD_REDIS_PORT" --scan --pattern 'celery-task-meta-*' | wc -l)
  echo $((queued + unacked + results))
}
