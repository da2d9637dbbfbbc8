/// Statements both stores run, with `?` placeholders (the PostgreSQL store numbers them).
enum StoreSQL {
    static let insertRecord = """
        INSERT INTO requests (id, project, created_at, method, path, provider, model, status, stream,
            user_id, properties, session_id, session_path, session_name, prompt_tokens, completion_tokens,
            total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, latency_ms,
            time_to_first_token_ms, request_bytes, response_bytes, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING
        """

    static let insertProperty = "INSERT INTO request_properties (request_id, name, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"

    static let insertBodies = "INSERT INTO bodies (request_id, request, response, response_reconstructed) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"

    /// When the next pending delivery becomes claimable: its retry time, or its lease's end if later.
    static let nextDue = """
        SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END)
        FROM deliveries WHERE status = 'pending'
        """

    static let insertDelivery = """
        INSERT INTO deliveries (id, webhook_id, request_id, status, attempts, next_attempt_at, created_at)
        VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT DO NOTHING
        """
}
