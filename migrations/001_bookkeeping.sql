-- The migration runner creates meta.schema_migrations itself before applying anything;
-- this first migration only records the conventions every later one follows.
comment on schema meta is 'Bookkeeping owned by the migration runner; no user data lives here.';
