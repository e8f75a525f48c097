#!/usr/bin/env bash
# Stand-in for the official postgres image's docker-entrypoint.sh (docker-library/postgres),
# same contract and the same steps, on this machine's PostgreSQL binaries:
# - POSTGRES_PASSWORD is required unless POSTGRES_HOST_AUTH_METHOD=trust;
# - POSTGRES_USER (default postgres) is the superuser, POSTGRES_DB (default $POSTGRES_USER) is
#   created, POSTGRES_INITDB_ARGS go to initdb, PGDATA (default /var/lib/postgresql/data);
# - an empty PGDATA is initialized (initdb, `host all all all <auth>` in pg_hba.conf, listening on
#   '*'), /docker-entrypoint-initdb.d/*.sh|*.sql run against a socket-only temporary server;
# - started as root, it chowns PGDATA and the socket directory and drops to postgres (999).
set -Eeo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

want_help() {
  local arg
  for arg; do
    case "$arg" in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
  done
  return 1
}

if [ "$1" != 'postgres' ] || want_help "$@"; then
  exec "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_INITDB_ARGS:=}"
: "${PGDATA:=/var/lib/postgresql/data}"
export POSTGRES_USER POSTGRES_DB PGDATA

mkdir -p "$PGDATA"
chmod 00700 "$PGDATA" || :
mkdir -p /var/run/postgresql || :
chmod 03775 /var/run/postgresql || :
if [ "$(id -u)" = '0' ]; then
  find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
  find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$BASH_SOURCE" "$@"
fi

if [ -s "$PGDATA/PG_VERSION" ]; then
  echo
  echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
  echo
  exec "$@"
fi

if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != 'trust' ]; then
  cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
EOM
  exit 1
fi

# shellcheck disable=SC2086
initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") $POSTGRES_INITDB_ARGS
# The official image sets listen_addresses='*' in postgresql.conf.sample at build time.
echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

export PGPASSWORD="${PGPASSWORD:-${POSTGRES_PASSWORD:-}}"
PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
psql_run=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
if [ "$POSTGRES_DB" != 'postgres' ]; then
  "${psql_run[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<"CREATE DATABASE :\"db\" ;"
fi
for f in /docker-entrypoint-initdb.d/*; do
  case "$f" in
    *.sh)
      echo "$0: running $f"
      if [ -x "$f" ]; then "$f"; else . "$f"; fi
      ;;
    *.sql)
      echo "$0: running $f"
      "${psql_run[@]}" --dbname "$POSTGRES_DB" -f "$f"
      ;;
    *.sql.gz)
      echo "$0: running $f"
      gunzip -c "$f" | "${psql_run[@]}" --dbname "$POSTGRES_DB"
      ;;
    */'*') ;;
    *) echo "$0: ignoring $f" ;;
  esac
done
PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
unset PGPASSWORD
echo
echo 'PostgreSQL init process complete; ready for start up.'
echo
exec "$@"
