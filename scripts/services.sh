#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests talk to are running on 127.0.0.1.
# Starts them if they are installed but stopped; installs them from Debian's packages if they
# are missing (a fresh Debian machine). Idempotent; safe to run again.
set -euo pipefail

PGPASSWORD_TEST=${PGPASSWORD_TEST:-postgres}
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
  local pkgs=()
  command -v pg_ctlcluster >/dev/null 2>&1 || pkgs+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "services: installing ${pkgs[*]} from Debian's packages" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
}

if ! up 5432 || ! up 6379; then
  install_missing
fi

if ! up 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "services: starting PostgreSQL $version" >&2
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do up 5432 && break; sleep 0.2; done
fi

if ! up 6379; then
  echo "services: starting Redis" >&2
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do up 6379 && break; sleep 0.2; done
fi

# The test database and a password for TCP logins (a fresh Debian cluster asks for one;
# this machine's cluster trusts 127.0.0.1 and ignores it).
if ! PGPASSWORD=$PGPASSWORD_TEST psql -h 127.0.0.1 -U postgres -d test -qtAc 'select 1' >/dev/null 2>&1; then
  echo "services: creating database 'test'" >&2
  as_root runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD '$PGPASSWORD_TEST'" >/dev/null
  as_root runuser -u postgres -- createdb test 2>/dev/null || true
fi

up 5432 || { echo "services: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
up 6379 || { echo "services: Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
