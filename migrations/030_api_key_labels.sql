-- A stored provider key's label may be changed by its owner (PATCH /v1/api-keys/{id}). Only the
-- label: the provider, ciphertext, fingerprint and owner of a stored key stay out of reach.
grant update (label) on public.user_api_keys to authenticated;
