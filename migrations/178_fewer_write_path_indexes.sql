-- Indexes that no query needs any more, dropped from the tables every generation writes. Each index
-- entry is written, logged and later vacuumed for every row: a chat completion wrote about 54 of
-- them (pg_waldump over a benchmark run), and these four account for 6 to 8 of those.
--
-- generations_claimable_idx (010) and generations_claim_order_idx (083): the workers' claim walks
--   generations_claim_lease_idx (111) since migration 111, and that index, partial on the same
--   statuses, serves the next-lease read and the projects' busy check as well. A generation's
--   insert (and every lease it takes while queued or running) wrote an entry in all three.
-- assets_user_idx (010, user_id, created_at desc): a prefix of assets_user_created_idx (070,
--   user_id, created_at desc, id desc), which serves every read it served.
-- budget_ledger_project_idx (project_id): the ledger's key to its project is (user_id, project_id),
--   served by budget_ledger_user_project_idx, and the projects' busy check now names the user too
--   (PostgresProjectStore.delete). Every ledger entry, three per generation, wrote an entry in it.

drop index public.generations_claimable_idx;
drop index public.generations_claim_order_idx;
drop index public.assets_user_idx;
drop index public.budget_ledger_project_idx;
