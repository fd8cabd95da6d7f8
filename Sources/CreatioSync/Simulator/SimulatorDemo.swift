import Foundation
import Gateways
import PortalCore

extension CreatioSimulator {
    /// What `seedDemo` made: the CRM account the demo's Creatio customer belongs to.
    public struct DemoCRM: Sendable {
        public var accountId: String
        public var accountName: String
        public var user: String
        public var password: String
    }

    /// A small CRM for `portal demo`: the stock `Usr…` payment fields on Invoice, one account with
    /// contacts and open invoices in two currencies, so the first sync pass has something to bring in
    /// and the push has somewhere to write.
    public func seedDemo() -> DemoCRM {
        addColumns("Invoice", CreatioFieldMap.Field.allCases.map(\.defaultColumn).filter { $0.hasPrefix("Usr") }.map {
            ($0, $0 == CreatioFieldMap.Field.isRecurring.defaultColumn ? OrderedJSON.bool(false) : "")
        })
        let usd = seed("Currency", ["Code": "USD", "ShortName": "$", "Name": "US Dollar"])
        let eur = seed("Currency", ["Code": "EUR", "ShortName": "€", "Name": "Euro"])
        let name = "Fabrikam Logistics (from Creatio)"
        let account = seed("Account", ["Name": .string(name), "Code": "FAB-001", "Phone": "+1 206 555 0147"])
        seed("Contact", ["Name": "Dana Dvořák", "Email": "dana@example.com", "Phone": "+1 206 555 0148", "AccountId": .string(account)])
        seed("Contact", ["Name": "Eero Mäkinen", "Email": "eero@fabrikam.example", "AccountId": .string(account)])
        // (description, quantity in thousandths, unit price in cents)
        let invoices: [(String, Int, String, [(String, Int, Int)])] = [
            ("CR-2026-0101", -26, usd, [("Freight Seattle → Anchorage, 14 pallets", 14_000, 8_500), ("Fuel surcharge", 1_000, 11_900)]),
            ("CR-2026-0102", -12, usd, [("Cold-chain storage, November", 30_000, 1_250)]),
            ("CR-2026-0103", -8, eur, [("Zollabfertigung Hamburg", 1_000, 24_000), ("Lagerung Übersee-Container", 6_000, 1_875)]),
        ]
        let today = CalendarDate(Date())
        for (number, issuedDaysAgo, currency, lines) in invoices {
            let issued = today.adding(days: issuedDaysAgo)
            let total = lines.reduce(0) { $0 + $1.1 * $1.2 / 1000 }
            let invoice = seed("Invoice", ["Number": .string(number), "AccountId": .string(account), "CurrencyId": .string(currency),
                                           "Amount": .number(Self.decimal(total)), "StartDate": .string(issued.iso + "T00:00:00Z"),
                                           "DueDate": .string(issued.adding(days: 30).iso + "T00:00:00Z")])
            for (description, quantity, price) in lines {
                let amount = Self.decimal(quantity * price / 1000)
                seed("InvoiceProduct", ["InvoiceId": .string(invoice), "Name": .string(description),
                                        "Quantity": .number("\(quantity / 1000).\(String(format: "%03d", quantity % 1000))"),
                                        "Price": .number(Self.decimal(price)), "Amount": .number(amount), "TotalAmount": .number(amount)])
            }
        }
        return DemoCRM(accountId: account, accountName: name, user: "Supervisor", password: users["Supervisor"] ?? "Supervisor")
    }

    /// A read-only page of the simulator's invoices, so the demo shows what the portal pushed back.
    func overviewPage() -> String {
        let statuses = Dictionary(records("InvoicePaymentStatus").compactMap { row in row["Id"]?.text.map { ($0.lowercased(), row["Name"]?.text ?? "") } },
                                  uniquingKeysWith: { first, _ in first })
        let columns = ["Number", "Amount", "PaymentAmount", "PaymentStatusId", "UsrPaymentStatus", "UsrGatewayTransactionId", "UsrCardType",
                       "UsrCardLast4", "UsrPaymentLink", "ModifiedOn"]
        var html = """
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Creatio simulator</title>
            <style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>
            </head><body><h1>Creatio simulator: Invoice</h1><p>What the portal's sync reads and writes. OData is at /0/odata (sign in as Supervisor).</p>
            <table><thead><tr>
            """
        html += columns.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in records("Invoice") {
            html += "<tr>" + columns.map { column -> String in
                let text = row[column]?.text ?? ""
                let shown = column == "PaymentStatusId" ? (statuses[text.lowercased()] ?? text) : text
                return "<td>\(Self.escape(shown))</td>"
            }.joined() + "</tr>"
        }
        return html + "</tbody></table></body></html>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
