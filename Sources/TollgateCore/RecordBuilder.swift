import Foundation

/// Turns a finished ``Exchange`` into its ``RequestRecord`` and bodies: parses usage, prices it,
/// reconstructs streams. Runs off the request path, in the recording batch.
public struct RecordBuilder: Sendable {
    public var pricing: PricingTable

    public init(pricing: PricingTable) {
        self.pricing = pricing
    }

    /// The cost to 15 significant digits, so 3 × 0.05 / 1e6 is written 1.5e-7, not 1.5000000000000002e-7.
    static func withoutFloatNoise(_ cost: Double) -> Double {
        Double(String(format: "%.15g", cost)) ?? cost
    }

    /// The record, its bodies, and whether the model had no price (so the caller can count it).
    public func build(_ exchange: Exchange) -> (record: RequestRecord, bodies: StoredBodies, unpriced: Bool) {
        let format = exchange.target?.format ?? .openai
        let provider = exchange.target?.provider ?? "unknown"
        let facts = RequestFacts.inspect(exchange.requestBody)
        let extracted: ExtractedResponse
        if let tail = exchange.responseTail {
            extracted = UsageExtractor.fromTruncated(head: exchange.responseBody, tail: tail, stream: exchange.stream, format: format)
        } else if exchange.responseBody.isEmpty {
            extracted = ExtractedResponse()
        } else if exchange.stream {
            extracted = UsageExtractor.fromStream(exchange.responseBody, format: format)
        } else {
            extracted = UsageExtractor.fromJSON(exchange.responseBody, format: format)
        }
        let model = extracted.model ?? facts.model
        var cost: Double?
        var saved: Double?
        var unpriced = false
        if let usage = extracted.usage, let model {
            cost = pricing.cost(provider: provider, model: model, usage: usage, billing: extracted.billing)
                .map(Self.withoutFloatNoise)
            unpriced = cost == nil
        } else if extracted.usage != nil {
            unpriced = true
        }
        if exchange.cacheHit {
            // Served from the cache: the provider bills nothing. What it would have billed is kept
            // as saved (nil when the model has no price).
            (cost, saved, unpriced) = (0, cost, false)
        }
        let error = exchange.failure?.description ?? extracted.streamError.map { "upstream_stream_error: \($0)" }
        let record = RequestRecord(
            id: exchange.id, project: exchange.project, createdAt: exchange.receivedAt,
            method: exchange.method, path: exchange.path, provider: provider, model: model,
            status: exchange.status, stream: exchange.stream,
            userID: exchange.tags.userID ?? facts.userID, properties: exchange.tags.properties,
            sessionID: exchange.tags.sessionID, sessionPath: exchange.tags.sessionPath,
            sessionName: exchange.tags.sessionName, usage: extracted.usage, costUSD: cost,
            latencyMs: exchange.latencyMs, timeToFirstTokenMs: exchange.stream ? exchange.timeToFirstByteMs : nil,
            upstreamLatencyMs: exchange.upstreamLatencyMs,
            overheadMs: exchange.upstreamLatencyMs.map { max(0, exchange.latencyMs - $0) },
            cacheHit: exchange.cacheHit, costSavedUSD: saved, attempts: exchange.attempts, fallbackIndex: exchange.fallbackIndex,
            requestBytes: exchange.requestBody.count, responseBytes: exchange.responseBytes,
            responseTruncated: exchange.responseTruncated, error: error
        )
        let bodies = StoredBodies(
            request: exchange.tags.omitRequestBody ? nil : exchange.requestBody,
            response: exchange.tags.omitResponseBody ? nil : exchange.responseBody,
            // Only a stream needs rebuilding; a JSON answer is kept (and sent) as the provider's bytes.
            reconstructedResponse: exchange.stream && !exchange.tags.omitResponseBody ? extracted.reconstructed?.serialized() : nil
        )
        return (record, bodies, unpriced)
    }
}
