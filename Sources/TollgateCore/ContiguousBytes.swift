/// Runs `body` on the bytes of `bytes` as one contiguous buffer, copying only when the
/// collection does not already store them contiguously. Lets the byte-level parsers take any
/// collection while doing their work on a raw buffer.
func withContiguousBytes<Value, Failure: Error>(
    of bytes: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
) throws(Failure) -> Value {
    var outcome: Result<Value, Failure>?
    _ = bytes.withContiguousStorageIfAvailable { buffer in
        outcome = Result { () throws(Failure) in try body(UnsafeRawBufferPointer(buffer)) }
    }
    if outcome == nil {
        Array(bytes).withUnsafeBytes { buffer in
            outcome = Result { () throws(Failure) in try body(buffer) }
        }
    }
    return try outcome!.get()
}
