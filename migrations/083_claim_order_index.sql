-- The workers' claim (`GenerationStore.claimWork`) takes the oldest claimable generations,
-- `order by created_at ... for update skip locked`. With only the (status, lease_expires_at) index
-- every claim sorted all claimable rows; this index lets it walk them oldest first and stop at the
-- first unlocked ones.
create index generations_claim_order_idx on public.generations (created_at) where status in ('queued', 'running');
