/// Rebuilds the response object of an OpenAI Responses API stream. Every `response.*`
/// lifecycle event (`created`, `in_progress`, `completed`, `incomplete`, `failed`) carries a
/// snapshot of the whole response, and the terminal one has the usage, so the last snapshot is
/// the answer. When a stream stops before a terminal event, the output items finished so far
/// (`response.output_item.done`) are put into the last snapshot.
struct ResponsesStreamAssembler {
    private var snapshot: JSONValue?
    private var terminal = false
    private var doneItems: [(index: Int, item: JSONValue)] = []

    mutating func add(_ event: JSONValue, type: String) {
        if let response = event["response"], case .object = response {
            snapshot = response
            terminal = ["response.completed", "response.incomplete", "response.failed"].contains(type)
        }
        if type == "response.output_item.done", let item = event["item"] {
            doneItems.append((event["output_index"]?.intValue ?? doneItems.count, item))
        }
    }

    func finishedResponse() -> JSONValue? {
        guard var response = snapshot else { return nil }
        if !terminal, !doneItems.isEmpty {
            response.set("output", .array(doneItems.sorted { $0.index < $1.index }.map(\.item)))
        }
        return response
    }
}
