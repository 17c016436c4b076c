/// Why the vault cannot start: the deployment gave no secret, or the stored parameters are unreadable.
enum VaultConfigurationError: Error, CustomStringConvertible {
    case noSecret
    case badStoredParameters(String)

    var description: String {
        switch self {
        case .noSecret: "APP_ENCRYPTION_SECRET is not set, so stored provider keys cannot be sealed or opened"
        case .badStoredParameters(let text): "app_private.vault_settings holds unreadable scrypt parameters \"\(text)\""
        }
    }
}
