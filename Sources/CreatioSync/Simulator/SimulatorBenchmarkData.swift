import Foundation
import Gateways

extension CreatioSimulator {
    public struct BenchmarkCRM: Sendable {
        public var user: String
        public var password: String
    }

    /// A large CRM for the import benchmark: accounts, invoices spread over them (two currencies,
    /// a tenth already part-paid), and `linesPerInvoice` lines each whose amounts add up.
    public func seedBenchmark(accounts: Int, invoices: Int, linesPerInvoice: Int) -> BenchmarkCRM {
        let usd = seed("Currency", ["Code": "USD", "ShortName": "$", "Name": "US Dollar"])
        let eur = seed("Currency", ["Code": "EUR", "ShortName": "€", "Name": "Euro"])
        let accountIds = (0..<max(1, accounts)).map { seed("Account", ["Name": .string("Bench Account \($0 + 1)")]) }
        for index in 0..<invoices {
            let cents = linesPerInvoice > 0 ? (index % 97 + 1) * 100 * linesPerInvoice : (index % 97 + 1) * 100
            let invoice = seed("Invoice", [
                "Number": .string("BN-\(100_000 + index)"), "AccountId": .string(accountIds[index % accountIds.count]),
                "CurrencyId": .string(index % 5 == 0 ? eur : usd), "Amount": .number(Self.decimal(cents)),
                "PaymentAmount": .number(index % 10 == 0 ? Self.decimal(cents / 2) : "0.00"),
                "StartDate": "2026-09-01T00:00:00Z", "DueDate": "2026-10-01T00:00:00Z",
            ])
            for line in 0..<linesPerInvoice {
                let each = cents / linesPerInvoice
                seed("InvoiceProduct", ["InvoiceId": .string(invoice), "Name": .string("Service \(line + 1) for invoice BN-\(100_000 + index)"),
                                        "Quantity": .number("1.000"), "Price": .number(Self.decimal(each)), "Amount": .number(Self.decimal(each)),
                                        "DiscountAmount": .number("0.00"), "TaxAmount": .number("0.00"), "TotalAmount": .number(Self.decimal(each))])
            }
        }
        return BenchmarkCRM(user: "Supervisor", password: users["Supervisor"] ?? "Supervisor")
    }

    static func decimal(_ cents: Int) -> String { "\(cents / 100).\(String(format: "%02d", cents % 100))" }
}
