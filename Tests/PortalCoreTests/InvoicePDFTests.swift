import Foundation
import Testing
@testable import PortalCore

@Suite struct InvoicePDFTests {
    struct Extracted: Decodable {
        var pages: Int
        var text: [String]
        var all: String { text.joined(separator: "\n") }
    }

    /// Parses the PDF with pypdf, a parser that shares no code with libharu.
    func extract(_ bytes: [UInt8]) throws -> Extracted {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("invoice-\(UUID().uuidString).pdf")
        try Data(bytes).write(to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestDatabase.repositoryRoot.appendingPathComponent("Tests/support/pdf_text.py").path, path.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try JSONDecoder().decode(Extracted.self, from: data)
    }

    func invoice(lines count: Int) -> InvoiceDetail {
        let eur = CurrencyCode("EUR")!
        let descriptions = [
            "Müller GmbH on-site installation and commissioning of the conveyor control cabinet including cabling, testing, safety sign-off and operator training for two shifts",
            "Łódź warehouse storage",
            "Ørsted consulting",
        ]
        let lines = (1...count).map { i in
            InvoiceLine(position: i, description: "\(descriptions[i % 3]) #\(i)", quantity: Quantity(milli: 1500), unitPrice: 1000, tax: 285, lineTotal: 1500)
        }
        let subtotal = Int64(count) * 1500
        let tax = Int64(count) * 285
        let summary = InvoiceSummary(id: "inv_x", accountId: "acc", number: "INV-4711", issueDate: CalendarDate(iso: "2026-11-01")!,
                                     dueDate: CalendarDate(iso: "2026-12-01")!, total: Money(subtotal + tax, eur),
                                     balance: Money(subtotal + tax - 100, eur), status: .partiallyPaid, isOverdue: false)
        return InvoiceDetail(summary: summary, accountName: "Ørsted & Müller Consulting", subtotal: Money(subtotal, eur), taxTotal: Money(tax, eur),
                             amountPaid: Money(100, eur), lines: lines, totalsMismatch: false, billToName: "Ørsted & Müller Consulting",
                             billToAddress: "Nørregade 7\n1165 København K", notes: "Danke!", terms: "Net 30", payments: [])
    }

    @Test func containsNumberEveryLineAndTotalsInUTF8AndSpansPages() throws {
        let renderer = try InvoicePDFRenderer(settings: InvoiceDocumentSettings(companyName: "Łódź Widgets Sp. z o.o.", companyAddress: "ul. Piotrkowska 1\nŁódź"))
        let detail = invoice(lines: 120)
        let bytes = try renderer.render(detail, payURL: "https://pay.example.com/invoices/inv_x")
        #expect(bytes.starts(with: Array("%PDF-".utf8)))
        let pdf = try extract(bytes)
        #expect(pdf.pages >= 3)
        let text = pdf.all
        #expect(text.contains("INV-4711"))
        #expect(text.contains("Łódź Widgets"))
        #expect(text.contains("Ørsted & Müller Consulting"))
        // Every line's number marker shows; long descriptions wrap, so check their tails too.
        let flattened = text.replacingOccurrences(of: "\n", with: " ")
        #expect(Self.markers(in: text) == Set(1...120))
        #expect(flattened.contains("operator training for two"))
        #expect(text.contains("€2,142.00"))   // total: 120 × (15.00 + 2.85)
        #expect(text.contains("€2,141.00"))   // balance due
        #expect(text.contains("€1,800.00"))   // subtotal
        // The table header repeats on continuation pages.
        #expect(pdf.text.dropFirst().allSatisfy { $0.contains("Description") && $0.contains("Amount") } || pdf.text.last?.contains("Balance due") == true)
        #expect(pdf.text[1].contains("Description"))
        #expect(text.contains("Page 1 of \(pdf.pages)"))
    }

    /// The numbers that follow a "#" in the text: one per invoice line.
    static func markers(in text: String) -> Set<Int> {
        var found = Set<Int>()
        var digits = ""
        var inMarker = false
        for character in text + " " {
            if character == "#" { inMarker = true; digits = ""; continue }
            if inMarker, character.isNumber { digits.append(character); continue }
            if inMarker, let n = Int(digits) { found.insert(n) }
            inMarker = false
        }
        return found
    }

    @Test func refusesAMissingFont() {
        #expect(throws: InvoicePDFError.fontUnreadable("/nonexistent.ttf")) {
            try InvoicePDFRenderer(settings: InvoiceDocumentSettings(companyName: "X", fontPath: "/nonexistent.ttf"))
        }
    }
}
