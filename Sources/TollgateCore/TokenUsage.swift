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
    /// Input tokens written to a short-lived cache: Anthropic's 5-minute cache (its default; a
    /// flat `cache_creation_input_tokens` with no breakdown counts here) or OpenAI's 30-minute one.
    public var cacheWrite5mTokens: Int
    /// Input tokens written to a long-lived cache: Anthropic's 1-hour or OpenAI's 12-hour cache.
    public var cacheWrite1hTokens: Int
    /// Output tokens spent on hidden reasoning; already part of `outputTokens`.
    public var reasoningTokens: Int
    /// Input tokens of audio not read from the cache; already part of `inputTokens`.
    public var audioInputTokens: Int
    /// Output tokens of audio; already part of `outputTokens`.
    public var audioOutputTokens: Int

    public init(
        inputTokens: Int = 0, outputTokens: Int = 0, cacheReadTokens: Int = 0,
        cacheWrite5mTokens: Int = 0, cacheWrite1hTokens: Int = 0, reasoningTokens: Int = 0,
        audioInputTokens: Int = 0, audioOutputTokens: Int = 0
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheWrite5mTokens = cacheWrite5mTokens
        self.cacheWrite1hTokens = cacheWrite1hTokens
        self.reasoningTokens = reasoningTokens
        self.audioInputTokens = audioInputTokens
        self.audioOutputTokens = audioOutputTokens
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
    /// DeepSeek's `prompt_cache_hit_tokens` instead of `cached_tokens` are read too. Cache writes
    /// (`cache_write_tokens`, split by `cache_write_tokens_details` into 30-minute and 12-hour)
    /// and audio tokens (`audio_tokens` of either details object) are parts of the input and
    /// output counts, as OpenAI reports them.
    /// Nil when `usage` is not an object with a token count.
    public init?(openAI usage: JSONValue) {
        guard case .object = usage else { return nil }
        let input = usage["prompt_tokens"]?.intValue ?? usage["input_tokens"]?.intValue
        let output = usage["completion_tokens"]?.intValue ?? usage["output_tokens"]?.intValue
        guard input != nil || output != nil else { return nil }
        let inputDetails = usage["prompt_tokens_details"] ?? usage["input_tokens_details"]
        let outputDetails = usage["completion_tokens_details"] ?? usage["output_tokens_details"]
        let writes = inputDetails?["cache_write_tokens"]?.intValue ?? 0
        let writeDetails = inputDetails?["cache_write_tokens_details"]
        let write12h = min(writes, writeDetails?["ttl_12h_tokens"]?.intValue ?? 0)
        self.init(
            inputTokens: input ?? 0,
            outputTokens: output ?? 0,
            cacheReadTokens: inputDetails?["cached_tokens"]?.intValue
                ?? usage["prompt_cache_hit_tokens"]?.intValue ?? 0,
            cacheWrite5mTokens: writes - write12h,
            cacheWrite1hTokens: write12h,
            reasoningTokens: outputDetails?["reasoning_tokens"]?.intValue ?? 0,
            audioInputTokens: max(0, (inputDetails?["audio_tokens"]?.intValue ?? 0)
                - (inputDetails?["cached_tokens_details"]?["audio_tokens"]?.intValue ?? 0)),
            audioOutputTokens: outputDetails?["audio_tokens"]?.intValue ?? 0
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
