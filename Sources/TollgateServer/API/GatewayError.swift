import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TollgateCore

/// Errors the gateway itself returns: `{"error": {"type": "...", "message": "..."}}`.
enum GatewayError {
    static func response(status: HTTPResponse.Status, type: String, message: String, id: UUID?) -> Response {
        let body = body(type: type, message: message)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let id { headers[.heliconeID] = id.uuidString.lowercased() }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The JSON body of an error answer.
    static func body(type: String, message: String) -> [UInt8] {
        JSONValue.object([("error", .object([("type", .string(type)), ("message", .string(message))]))]).serialized()
    }
}

extension HTTPField.Name {
    static let heliconeID = Self("Helicone-Id")!
}
