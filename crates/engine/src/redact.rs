//! Token redaction for logs and messages (filled in by the secrets work).
