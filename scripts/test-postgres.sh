#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (sourced by scripts/test.sh; docs/DATABASE.md).
#   farm_pg_start   initdb into a private temporary dir, start the server on a private port
#                   (TCP on 127.0.0.1 and a unix socket in that dir, trust auth, no fsync), create
#                   a database and export FARM_TEST_PG_URL=postgresql://farm_test@127.0.0.1:PORT/farm_test
#   farm_pg_stop    stop the server and remove its dir (safe to call twice; test.sh traps EXIT)
# initdb refuses to run as root: as root the server runs as the `postgres` system user (made by
# Debian's postgresql-common package) through runuser; as another user it runs as that user.
# It can also be run on its own: `scripts/test-postgres.sh` starts a server, prints the URL and
# stops the server when you press Enter (for running ctest by hand against PostgreSQL).

farm_pg_dir=""
farm_pg_as=()

farm_pg_start()
{
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
        echo "test-postgres: no PostgreSQL server under /usr/lib/postgresql/*/bin;" \
            "install it: apt-get install postgresql (scripts/setup-deps.sh --test does)" >&2
        return 1
    fi
    FARM_PG_BIN=$bin
    farm_pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/farm-pg.XXXXXX")
    farm_pg_as=()
    if [[ $(id -u) -eq 0 ]]; then
        if ! id -u postgres >/dev/null 2>&1; then
            echo "test-postgres: running as root, and there is no 'postgres' user to run the" \
                "server as (Debian's postgresql-common package makes it)" >&2
            return 1
        fi
        chown postgres: "$farm_pg_dir"
        # In its own dir: the caller's (a checkout under /root) may be closed to that user.
        farm_pg_as=(runuser -u postgres -- env -C "$farm_pg_dir")
    fi
    # A private port: the first free one from a per-process start, never 5432.
    local port=$((20000 + $$ % 20000)) tries
    for ((tries = 0; tries < 100; tries++, port++)); do
        (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    done
    echo "test-postgres: initdb $farm_pg_dir/data ($bin), port $port"
    if ! "${farm_pg_as[@]}" "$bin/initdb" -D "$farm_pg_dir/data" -U farm_test -A trust \
        --locale=C -E UTF8 --no-sync >"$farm_pg_dir/initdb.log" 2>&1; then
        cat "$farm_pg_dir/initdb.log" >&2
        echo "test-postgres: initdb failed" >&2
        return 1
    fi
    # No durability needed for test data: fsync off keeps a loaded 2-core machine quick.
    if ! "${farm_pg_as[@]}" "$bin/pg_ctl" -D "$farm_pg_dir/data" -l "$farm_pg_dir/server.log" \
        -w -t 120 -o "-p $port -k $farm_pg_dir -c listen_addresses=127.0.0.1 -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null; then
        cat "$farm_pg_dir/server.log" >&2
        echo "test-postgres: the server did not start" >&2
        return 1
    fi
    if ! "${farm_pg_as[@]}" "$bin/createdb" -h "$farm_pg_dir" -p "$port" -U farm_test farm_test; then
        echo "test-postgres: createdb failed" >&2
        return 1
    fi
    export FARM_TEST_PG_URL="postgresql://farm_test@127.0.0.1:$port/farm_test"
    echo "test-postgres: FARM_TEST_PG_URL=$FARM_TEST_PG_URL"
}

farm_pg_stop()
{
    [[ -n "$farm_pg_dir" && -d "$farm_pg_dir" ]] || return 0
    if [[ -f "$farm_pg_dir/data/postmaster.pid" ]]; then
        "${farm_pg_as[@]}" "$FARM_PG_BIN/pg_ctl" -D "$farm_pg_dir/data" -m fast -w stop \
            >/dev/null 2>&1 || true
    fi
    rm -rf "$farm_pg_dir"
    farm_pg_dir=""
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    trap farm_pg_stop EXIT
    farm_pg_start
    echo "export FARM_TEST_PG_URL=$FARM_TEST_PG_URL"
    read -r -p "PostgreSQL runs; press Enter to stop it. " _ || true
fi
