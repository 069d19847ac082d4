#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store tests, on loopback only.
#
#   eval "$(.ci/pg.sh start)"   # prints export lines: TOVA_TEST_DATABASE_URL, TOVA_PG_DIR
#   go test ./store/...
#   .ci/pg.sh stop              # stops the cluster and deletes its directory
#
# TOVA_PG_PORT picks the first port to try (default 55432; the next free
# one is used when it is taken). The cluster lives in a temporary
# directory, trusts local connections, and runs with fsync off: it holds
# test data only. As root, the server runs as the `postgres` user.
set -euo pipefail

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  echo "pg.sh: initdb not found; install PostgreSQL (Debian: apt-get install -y postgresql)" >&2
  return 1
}

# as_owner runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local bin port dir
  bin=$(pg_bin)
  port=${TOVA_PG_PORT:-55432}
  dir=$(mktemp -d "${TMPDIR:-/tmp}/tova-pg.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  as_owner "$bin/initdb" -D "$dir/data" -U tova --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # A port nobody listens on may still be taken (the local end of a
  # connection, one in TIME_WAIT): when the bind fails, try the next.
  local tries=0
  while :; do
    while port_in_use "$port"; do port=$((port + 1)); done
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 20 ] || ! grep -q "could not bind" "$dir/server.log"; then
      cat "$dir/server.log" >&2
      exit 1
    fi
    port=$((port + 1))
  done
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U tova tova_test
  echo "export TOVA_PG_DIR=$dir"
  echo "export TOVA_TEST_DATABASE_URL=postgres://tova@127.0.0.1:$port/tova_test?sslmode=disable"
}

stop() {
  local dir=${TOVA_PG_DIR:-}
  if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
    echo "pg.sh: TOVA_PG_DIR does not name a cluster started by pg.sh" >&2
    exit 1
  fi
  as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
