#!/bin/sh
# First start of the PostgreSQL container: the application's own role, which is neither a
# superuser nor BYPASSRLS, owns the database. Row-level security (sam/rls.py, FORCE) therefore
# applies to every connection of web, worker and beat, including migrations.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE ${SAM_DB_USER} LOGIN PASSWORD '${SAM_DB_PASSWORD}' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
ALTER DATABASE ${POSTGRES_DB} OWNER TO ${SAM_DB_USER};
ALTER SCHEMA public OWNER TO ${SAM_DB_USER};
SQL
