/// Token counts of one call, normalized so that OpenAI and Anthropic mean the same thing.
///
/// The providers disagree on what "input" means: OpenAI's `prompt_tokens` already includes
/// cached tokens, Anthropic's `input_tokens` excludes both cache reads and cache writes. Here
/// `inputTokens` is always everything the model read, and the cache counts are parts of it, so
/// one cost formula (see `PricingTable`) is right for both.
public struct TokenUsage: Sendable, Equatable, Codable {
    /// Every input token, including cache reads and cache writes.
    public var inputTokens: Int
    /// Every output token, including reasoning tokens.
    public var outputTokens: Int
    /// Input tokens served from the prompt cache.
    public var cacheReadTokens: Int
    /// Input tokens written to a 5-minute cache (Anthropic's default; a flat
    /// `cache_creation_input_tokens` with no breakdown counts here).
    public var cacheWrite5mTokens: Int
    /// Input tokens written to a 1-hour cache.
    public var cacheWrite1hTokens: Int
    /// Output tokens spent on hidden reasoning; already part of `outputTokens`.
    public var reasoningTokens: Int

    public init(
        inputTokens: Int = 0, outputTokens: Int = 0, cacheReadTokens: Int = 0,
        cacheWrite5mTokens: Int = 0, cacheWrite1hTokens: Int = 0, reasoningTokens: Int = 0
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheWrite5mTokens = cacheWrite5mTokens
        self.cacheWrite1hTokens = cacheWrite1hTokens
        self.reasoningTokens = reasoningTokens
    }

    /// Cache writes of either lifetime.
    public var cacheWriteTokens: Int { cacheWrite5mTokens + cacheWrite1hTokens }

    /// Input plus output.
    public var totalTokens: Int { inputTokens + outputTokens }

    /// Input tokens billed at the plain input price: neither read from nor written to a cache.
    public var uncachedInputTokens: Int { max(0, inputTokens - cacheReadTokens - cacheWriteTokens) }
}

extension TokenUsage {
    /// Reads an OpenAI-style `usage` object: chat completions, completions and embeddings
    /// (`prompt_tokens`, `completion_tokens`, `*_details`) or the Responses API
    /// (`input_tokens`, `output_tokens`, `*_details`). OpenAI-compatible providers that report
    /// DeepSeek's `prompt_cache_hit_tokens` instead of `cached_tokens` are read too.
    /// Nil when `usage` is not an object with a token count.
    public init?(openAI usage: JSONValue) {
        guard case .object = usage else { return nil }
        let input = usage["prompt_tokens"]?.intValue ?? usage["input_tokens"]?.intValue
        let output = usage["completion_tokens"]?.intValue ?? usage["output_tokens"]?.intValue
        guard input != nil || output != nil else { return nil }
        let inputDetails = usage["prompt_tokens_details"] ?? usage["input_tokens_details"]
        let outputDetails = usage["completion_tokens_details"] ?? usage["output_tokens_details"]
        self.init(
            inputTokens: input ?? 0,
            outputTokens: output ?? 0,
            cacheReadTokens: inputDetails?["cached_tokens"]?.intValue
                ?? usage["prompt_cache_hit_tokens"]?.intValue ?? 0,
            reasoningTokens: outputDetails?["reasoning_tokens"]?.intValue ?? 0
        )
    }

    /// Reads an Anthropic `usage` object, adding cache reads and writes into `inputTokens`.
    /// Cache writes use the `cache_creation` breakdown by lifetime when present; any part of the
    /// flat `cache_creation_input_tokens` the breakdown does not cover counts as 5-minute.
    /// Nil when `usage` is not an object with a token count.
    public init?(anthropic usage: JSONValue) {
        guard case .object = usage else { return nil }
        let input = usage["input_tokens"]?.intValue
        let output = usage["output_tokens"]?.intValue
        guard input != nil || output != nil else { return nil }
        let cacheRead = usage["cache_read_input_tokens"]?.intValue ?? 0
        let flatWrite = usage["cache_creation_input_tokens"]?.intValue ?? 0
        let breakdown = usage["cache_creation"]
        let write1h = breakdown?["ephemeral_1h_input_tokens"]?.intValue ?? 0
        let write5mListed = breakdown?["ephemeral_5m_input_tokens"]?.intValue ?? 0
        let write5m = write5mListed + max(0, flatWrite - write5mListed - write1h)
        self.init(
            inputTokens: (input ?? 0) + cacheRead + write5m + write1h,
            outputTokens: output ?? 0,
            cacheReadTokens: cacheRead,
            cacheWrite5mTokens: write5m,
            cacheWrite1hTokens: write1h
        )
    }
}
