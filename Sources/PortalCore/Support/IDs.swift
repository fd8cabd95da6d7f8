import Foundation

/// Opaque identifiers: random, URL-safe, never sequential, so one id reveals nothing about another.
public enum OpaqueID {
    /// 128 random bits as 22 base64url characters, prefixed by kind for readability in logs and URLs.
    public static func make(_ prefix: String) -> String {
        prefix + "_" + RandomBytes.base64URL(count: 16)
    }
}

public enum RandomBytes {
    public static func make(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    public static func base64URL(count: Int) -> String {
        Base64URL.encode(make(count: count))
    }
}

public enum Base64URL {
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ string: String) -> [UInt8]? {
        var s = string.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map { [UInt8]($0) }
    }
}
