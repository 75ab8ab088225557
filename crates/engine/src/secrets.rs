//! OS keychain access for tokens (filled in by the secrets work).
