#!/bin/sh
# Run once by the postgres image (as its superuser) when it initialises an empty data directory.
# Creates the roles the application needs before `apiserver migrate` runs as a role that is NOT a
# superuser:
#   - the API roles exactly as migration 002 defines them (002 then finds them and skips creating
#     them). service_role has BYPASSRLS, which only a superuser may give, hence here;
#   - authenticator, the login role the server uses, with its password;
#   - app_owner, the login role migrations run as: it owns the database (so the schemas and tables
#     the migrations create), may create roles (migration 007's ledger role), and holds the API
#     roles with ADMIN OPTION so migrations can grant them, and as a member so `migrate` can read
#     and import pricing as authenticated and service_role.
set -eu
: "${APP_OWNER_PASSWORD:?set APP_OWNER_PASSWORD}"
: "${AUTHENTICATOR_PASSWORD:?set AUTHENTICATOR_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v db="$POSTGRES_DB" -v owner_password="$APP_OWNER_PASSWORD" -v authenticator_password="$AUTHENTICATOR_PASSWORD" <<'SQL'
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit password :'authenticator_password';
create role app_owner login createrole password :'owner_password';
grant anon, authenticated, service_role to app_owner with admin option;
alter database :"db" owner to app_owner;
SQL
