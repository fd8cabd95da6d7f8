import Foundation
import PortalCore

/// Realistic demo invoices: every status, past and future due dates, two currencies, long and
/// non-ASCII descriptions, and one invoice of 120 lines. Deterministic, so demos look the same.
struct DemoInvoices {
    let services: PortalServices
    let today: CalendarDate

    private static let products: [(String, Int64)] = [
        ("Industrial widget, stainless steel (Edelstahl), 40 mm", 1_250),
        ("Consulting — Ørsted offshore wind feasibility review, phase 2", 145_000),
        ("Łódź warehouse storage, pallet-month", 2_400),
        ("Müller GmbH on-site installation and commissioning of the conveyor control cabinet including cabling, testing, safety sign-off and operator training for two shifts", 89_000),
        ("Spare gaskets (pack of 50)", 3_900),
        ("Annual support & maintenance subscription", 240_000),
        ("Express freight surcharge — Zürich → Kraków", 7_500),
        ("Café crème beans, 1 kg — “Señor Niño” blend", 1_890),
        ("Engineering hours", 9_500),
        ("Custom bracket, CNC machined (drawing Nº 4471-B, rev. C)", 4_320),
    ]

    private struct Generator {
        var state: UInt64
        mutating func next(_ range: Range<Int>) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return range.lowerBound + Int((state >> 33) % UInt64(range.count))
        }
    }

    func seed(acme: Account, orsted: Account, bakery: Account) async throws {
        var random = Generator(state: 42)
        let eur = CurrencyCode("EUR")!
        let usd = CurrencyCode("USD")!
        var counter = 1000
        let plans: [(Account, CurrencyCode, Int)] = [(acme, eur, 26), (orsted, usd, 14), (bakery, eur, 20)]
        for (account, currency, count) in plans {
            for index in 0..<count {
                counter += 1
                let lineCount = (account.id == acme.id && index == 3) ? 120 : random.next(1..<6)
                let issueOffset = -random.next(5..<200)
                let issue = today.adding(days: issueOffset)
                let due = issue.adding(days: [14, 30, 45][random.next(0..<3)])
                let lines = (0..<lineCount).map { position -> InvoiceLine in
                    let product = Self.products[random.next(0..<Self.products.count)]
                    let quantity = Quantity(milli: Int64(random.next(1..<12)) * 500)
                    let discount: Int64 = random.next(0..<5) == 0 ? 500 : 0
                    var line = InvoiceLine(position: position + 1, description: product.0, quantity: quantity,
                                           unitPrice: product.1, discount: discount, lineTotal: 0)
                    line.lineTotal = line.expectedTotal
                    line.tax = line.lineTotal * 19 / 100
                    return line
                }
                let subtotal = lines.reduce(0) { $0 + $1.lineTotal }
                let tax = lines.reduce(0) { $0 + $1.tax }
                let kind = index % 10
                let crmStatus: InvoiceStatus = kind == 8 ? .void : (kind == 9 && index > 10 ? .draft : .open)
                let id = try await services.invoices.upsert(InvoiceInput(
                    accountId: account.id, externalId: nil, number: "INV-\(counter)",
                    issueDate: issue, dueDate: due, currency: currency, lines: lines, subtotal: subtotal, taxTotal: tax,
                    total: subtotal + tax, crmStatus: crmStatus, billToName: account.name,
                    billToAddress: Self.address(for: account.name),
                    notes: index % 4 == 0 ? "Thank you for your business. Danke für Ihren Auftrag!" : "",
                    terms: "Payment due within the agreed terms. Late payments may incur interest as permitted by law."))
                guard crmStatus == .open else { continue }
                let total = subtotal + tax
                let paidAt = Int64(issue.adding(days: 3).date.timeIntervalSince1970)
                if kind == 1 || kind == 5 || kind == 6 {
                    try await services.ledger.recordSucceeded(.init(
                        accountId: account.id, invoiceIds: [id], amount: Money(total, currency), methodBrand: "visa", methodLast4: "4242",
                        gateway: "sandbox", gatewayTransactionId: "demo_\(counter)", authorizationCode: "A1B2C3", at: paidAt))
                } else if kind == 2 {
                    try await services.ledger.recordSucceeded(.init(
                        accountId: account.id, invoiceIds: [id], amount: Money(max(1, total / 3), currency), methodBrand: "mastercard",
                        methodLast4: "4444", gateway: "sandbox", gatewayTransactionId: "demo_\(counter)_p", at: paidAt))
                }
            }
        }
    }

    static func address(for name: String) -> String {
        switch name {
        case let n where n.hasPrefix("Acme"): "Hauptstraße 12\n80331 München\nGermany"
        case let n where n.hasPrefix("Ørsted"): "Nørregade 7\n1165 København K\nDenmark"
        default: "ul. Piotrkowska 104\n90-001 Łódź\nPoland"
        }
    }
}
