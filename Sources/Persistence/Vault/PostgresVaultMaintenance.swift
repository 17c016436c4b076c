import Domain
import Foundation

/// Service-role work for the vault: the key-derivation salt and key rotation. Both are
/// deployment-wide, not done on any user's behalf, hence outside the user scope.
public struct PostgresVaultMaintenance: ApiKeyRotationStore {
    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// The deployment's salt and scrypt parameters. The first process to ask stores its proposal;
    /// every later one (and every concurrent one: `on conflict do nothing`) reads that row back.
    public func settings(proposingSalt salt: Data, parameters: String) throws -> (salt: Data, parameters: String) {
        let rows = try pool.withServiceRole { transaction in
            try transaction.query("""
                insert into app_private.vault_settings (id, kek_salt, scrypt_parameters) values (true, \(salt), \(parameters))
                on conflict (id) do nothing
                """)
            return try transaction.query("select kek_salt, scrypt_parameters from app_private.vault_settings where id")
        }
        return (try rows[0].decode("kek_salt"), try rows[0].decode("scrypt_parameters"))
    }

    public func count(onKeyVersion keyVersion: UInt32) throws -> Int {
        try pool.withServiceRole { transaction in
            try transaction.query("select count(*)::int as n from public.user_api_keys where key_version = \(Int64(keyVersion))")[0]
                .decode("n", as: Int.self)
        }
    }

    public func rotateBatch(to keyVersion: UInt32, limit: Int, skipping: [UUID],
                            reseal: (SealedApiKey) -> ResealedApiKey?) throws -> (rotated: Int, refused: [UUID]) {
        let skipped = skipping.map { $0.lowercasedString }
        return try pool.withServiceRole { transaction in
            let rows = try transaction.query("""
                select id, user_id, provider, ciphertext from public.user_api_keys
                where key_version <> \(Int64(keyVersion)) and not (id = any(\(skipped)::uuid[]))
                order by id limit \(limit)
                for update skip locked
                """)
            var rotated = 0
            var refused: [UUID] = []
            for row in rows {
                let id = try row.decode("id", as: UUID.self)
                guard let provider = ProviderID(rawValue: try row.decode("provider", as: String.self)),
                      let resealed = reseal(SealedApiKey(id: id, userID: try row.decode("user_id"), provider: provider,
                                                         ciphertext: try row.decode("ciphertext"))) else {
                    refused.append(id)
                    continue
                }
                // A savepoint per row: if the new fingerprint collides with another row (the same key
                // stored twice by a server that did not hold the previous secret during the rotation),
                // that one row is refused and the batch goes on, instead of the run failing for ever.
                try transaction.query("savepoint reseal")
                do {
                    try transaction.query("""
                        update public.user_api_keys
                        set ciphertext = \(resealed.ciphertext), key_version = \(Int64(resealed.keyVersion)), fingerprint = \(resealed.fingerprint)
                        where id = \(id)
                        """)
                    try transaction.query("release savepoint reseal")
                    rotated += 1
                } catch let error as DatabaseError where error.sqlState == "23505" {
                    try transaction.query("rollback to savepoint reseal")
                    refused.append(id)
                }
            }
            return (rotated, refused)
        }
    }
}
