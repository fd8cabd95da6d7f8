import Foundation
import Gateways

/// Which Invoice column in Creatio receives each fact the portal pushes. A customised CRM names its
/// fields differently, so the names come from a JSON file (`PORTAL_CREATIO_FIELD_MAP`) laid over
/// the defaults; a field mapped to "" or null is not sent at all.
///
/// ```json
/// {"gatewayTransactionId": "UsrTxnId", "cardLast4": null}
/// ```
public struct CreatioFieldMap: Sendable, Equatable {
    public enum Field: String, Sendable, CaseIterable {
        case paymentStatusId, paymentAmount, paymentLink, gatewayTransactionId, paymentStatus, cardType, cardLast4
        case authorizationCode, refundId, isRecurring, errorCode, errorMessage

        public var defaultColumn: String {
            switch self {
            case .paymentStatusId: "PaymentStatusId"
            case .paymentAmount: "PaymentAmount"
            case .paymentLink: "UsrPaymentLink"
            case .gatewayTransactionId: "UsrGatewayTransactionId"
            case .paymentStatus: "UsrPaymentStatus"
            case .cardType: "UsrCardType"
            case .cardLast4: "UsrCardLast4"
            case .authorizationCode: "UsrAuthorizationCode"
            case .refundId: "UsrRefundId"
            case .isRecurring: "UsrIsRecurring"
            case .errorCode: "UsrPaymentErrorCode"
            case .errorMessage: "UsrPaymentErrorMessage"
            }
        }
    }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Absent: not sent.
    let columns: [Field: String]

    public static let defaults = CreatioFieldMap(columns: Dictionary(uniqueKeysWithValues: Field.allCases.map { ($0, $0.defaultColumn) }))

    public func column(_ field: Field) -> String? { columns[field] }

    public static func load(path: String) throws -> CreatioFieldMap {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Invalid(description: "cannot read \(path): \(error.localizedDescription)")
        }
        return try parse(data)
    }

    /// The defaults with the file's entries laid over them. Unknown names are refused (a typo would
    /// otherwise silently keep a default), as are column names Creatio could not have.
    public static func parse(_ data: Data) throws -> CreatioFieldMap {
        guard let json = try? OrderedJSON.parse(data), case .object(let members) = json else {
            throw Invalid(description: "must be a JSON object of field names, e.g. {\"gatewayTransactionId\": \"UsrTxnId\"}")
        }
        var columns = defaults.columns
        for member in members {
            guard let field = Field(rawValue: member.key) else {
                throw Invalid(description: "names an unknown field \"\(member.key)\"; known: \(Field.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            switch member.value {
            case .null, .string(""): columns[field] = nil
            case .string(let name) where isColumnName(name): columns[field] = name
            case .string(let name): throw Invalid(description: "maps \(field.rawValue) to \"\(name)\", which is not a Creatio column name (letters, digits, _)")
            default: throw Invalid(description: "maps \(field.rawValue) to something other than a column name or null")
            }
        }
        let shared = Dictionary(grouping: columns, by: { $0.value }).filter { $0.value.count > 1 }
        if let column = shared.keys.sorted().first {
            let names = shared[column]!.map { $0.key.rawValue }.sorted().joined(separator: " and ")
            throw Invalid(description: "maps \(names) to the same column \(column)")
        }
        return CreatioFieldMap(columns: columns)
    }

    static func isColumnName(_ name: String) -> Bool {
        func letter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" }
        guard let first = name.unicodeScalars.first, letter(first), name.count <= 128 else { return false }
        return name.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
    }
}
