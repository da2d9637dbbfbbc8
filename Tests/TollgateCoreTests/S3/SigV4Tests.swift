import Foundation
import Testing
@testable import TollgateCore

/// AWS's published examples (Amazon S3 API reference, "Signature Calculations for the
/// Authorization Header" and "Authenticating Requests: Using Query Parameters").
@Suite struct SigV4Tests {
    static let signer = SigV4(credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), region: "us-east-1")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let host = "examplebucket.s3.amazonaws.com"

    static func signature(_ headers: [(String, String)]) -> String? {
        headers.first { $0.0 == "authorization" }?.1.components(separatedBy: "Signature=").last
    }

    @Test func getObjectWithRangeMatchesAWSExample() {
        let headers = Self.signer.signedHeaders(method: "GET", host: Self.host, path: "/test.txt", headers: [("Range", "bytes=0-9")],
                                                payloadHash: SigV4.emptyPayloadHash, date: Self.date)
        #expect(headers.first { $0.0 == "authorization" }?.1 == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(headers.contains { $0 == ("x-amz-date", "20130524T000000Z") })
    }

    @Test func putObjectMatchesAWSExample() {
        let payload = SigV4.sha256Hex(Array("Welcome to Amazon S3.".utf8))
        #expect(payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let headers = Self.signer.signedHeaders(method: "PUT", host: Self.host, path: "/test$file.text", headers: [
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ], payloadHash: payload, date: Self.date)
        #expect(Self.signature(headers) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func bucketLifecycleAndListObjectsMatchAWSExamples() {
        let lifecycle = Self.signer.signedHeaders(method: "GET", host: Self.host, path: "/", query: [("lifecycle", "")], payloadHash: SigV4.emptyPayloadHash, date: Self.date)
        #expect(Self.signature(lifecycle) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        let list = Self.signer.signedHeaders(method: "GET", host: Self.host, path: "/", query: [("prefix", "J"), ("max-keys", "2")], payloadHash: SigV4.emptyPayloadHash, date: Self.date)
        #expect(Self.signature(list) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func presignedGetMatchesAWSExample() {
        let url = Self.signer.presignedURL(scheme: "https", host: Self.host, path: "/test.txt", expires: 86_400, date: Self.date)
        #expect(url == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func keysAreEncodedOncePerSegment() {
        #expect(SigV4.canonicalURI("/bucket/a b/é.json") == "/bucket/a%20b/%C3%A9.json")
        #expect(SigV4.canonicalQuery([("b", "2"), ("a", "x/y")]) == "a=x%2Fy&b=2")
    }
}
