import Gateways
import PortalCore

/// The InvoicePaymentStatus ids of this Creatio instance, found by name: the one mapping between
/// Creatio's payment statuses and the portal's invoice statuses, used by the push (writing), the
/// pull (a canceled or not-invoiced invoice) and the reconciliation report (reading). An instance
/// may have replaced the stock records, so the ids are read, and a status not found by name falls
/// back to the stock id.
struct PaymentStatusIds: Sendable, Equatable {
    var ids: [InvoiceStatus: String]

    /// Names Creatio ships or commonly uses for each, compared ignoring case, spaces and punctuation.
    static let names: [InvoiceStatus: [String]] = [
        .paid: ["paid"],
        .partiallyPaid: ["partiallypaid", "partlypaid"],
        .open: ["waitingforpayment", "waitingpayment", "awaitingpayment", "pendingpayment", "notpaid", "unpaid"],
        .void: ["canceled", "cancelled"],
        .draft: ["notinvoiced", "draft"],
    ]

    static let stockIds: [InvoiceStatus: String] = [
        .paid: CreatioPaymentStatus.paid, .partiallyPaid: CreatioPaymentStatus.partiallyPaid, .open: CreatioPaymentStatus.waitingPayment,
        .void: CreatioPaymentStatus.canceled, .draft: CreatioPaymentStatus.notInvoiced,
    ]

    /// Creatio's stock records, for callers that have not read the instance's.
    static let stock = PaymentStatusIds(records: [])

    static func load(_ client: CreatioClient) async throws -> PaymentStatusIds {
        let records = try await client.list("InvoicePaymentStatus", ODataQuery(orderBy: ["Id"], top: 500, select: ["Id", "Name"]))
        return PaymentStatusIds(records: records.compactMap { record -> (id: String, name: String)? in
            guard let id = record["Id"]?.text, let name = record["Name"]?.text else { return nil }
            return (id: id, name: name)
        })
    }

    init(records: [(id: String, name: String)]) {
        let byName = Dictionary(records.map { (Self.normalised($0.name), $0.id) }, uniquingKeysWith: { first, _ in first })
        ids = Self.stockIds
        for (status, names) in Self.names {
            if let id = names.lazy.compactMap({ byName[$0] }).first { ids[status] = id }
        }
    }

    func id(for status: InvoiceStatus) -> String { ids[status] ?? Self.stockIds[.open]! }

    /// The portal's status for one of Creatio's ids; nil for an id this mapping does not know.
    func status(forId id: String) -> InvoiceStatus? {
        let id = id.lowercased()
        return ids.first { $0.value.lowercased() == id }?.key
    }

    static func normalised(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic }.map(Character.init))
    }
}
