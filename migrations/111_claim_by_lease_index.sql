-- The workers' claim walks claimable generations by lease expiry, never-leased first
-- (`order by lease_expires_at nulls first`), on this index. In created_at order (migration 083)
-- every generation claimed a moment ago (its lease now in the future) still stood at the front of
-- the index and was visited and filtered out by each later claim, so a claim cost grew with the
-- work claimed before it; a claimed row's new lease moves its entry to the far end of this one.
create index generations_claim_lease_idx on public.generations (lease_expires_at nulls first) where status in ('queued', 'running');
