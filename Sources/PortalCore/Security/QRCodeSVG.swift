import CQRencode

public enum QRCodeError: Error {
    case encodingFailed
}

/// Renders a QR code as inline SVG with libqrencode, so the MFA page needs no image request and
/// the secret it encodes never lands in a file or a URL.
public enum QRCodeSVG {
    public static func render(_ text: String, moduleSize: Int = 4, margin: Int = 4) throws -> String {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { throw QRCodeError.encodingFailed }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let size = (width + 2 * margin) * moduleSize
        var path = ""
        path.reserveCapacity(width * width * 8)
        for y in 0..<width {
            for x in 0..<width where code.pointee.data[y * width + x] & 1 == 1 {
                path += "M\((x + margin) * moduleSize) \((y + margin) * moduleSize)h\(moduleSize)v\(moduleSize)h-\(moduleSize)z"
            }
        }
        return """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(size) \(size)" width="\(size)" height="\(size)" role="img" aria-label="QR code for your authenticator app" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
        """
    }
}
