import CHaru

/// Page geometry and drawing for one invoice PDF. Points, origin bottom-left, A4.
struct InvoicePDFLayout {
    let doc: PDFDoc
    let settings: InvoiceDocumentSettings
    let invoice: InvoiceDetail

    private let pageWidth: Float = 595
    private let pageHeight: Float = 842
    private let margin: Float = 48
    private let bodySize: Float = 9
    private let lineHeight: Float = 12
    private var pages: [HPDF_Page] = []
    /// libharu looks each glyph up by a linear scan of the font's cmap, so measuring is the costly
    /// part of a PDF: widths are measured once per word at size 1 and scaled.
    private let widths = WidthCache()
    private var page: HPDF_Page!
    private var y: Float = 0

    /// Column right edges and widths for the lines table.
    private struct Column { var title: String; var x: Float; var width: Float; var alignRight: Bool }
    private var columns: [Column] {
        let right = pageWidth - margin
        return [
            Column(title: "Description", x: margin, width: 230, alignRight: false),
            Column(title: "Qty", x: right - 265, width: 40, alignRight: true),
            Column(title: "Unit price", x: right - 200, width: 65, alignRight: true),
            Column(title: "Discount", x: right - 140, width: 55, alignRight: true),
            Column(title: "Tax", x: right - 80, width: 55, alignRight: true),
            Column(title: "Amount", x: right, width: 70, alignRight: true),
        ]
    }

    init(doc: PDFDoc, settings: InvoiceDocumentSettings, invoice: InvoiceDetail) {
        self.doc = doc
        self.settings = settings
        self.invoice = invoice
    }

    mutating func draw(payURL: String) throws {
        newPage()
        drawHeader()
        drawBillTo()
        drawTableHeader()
        drawLines()
        drawTotals()
        drawHowToPay(payURL)
        drawPageNumbers()
    }

    private mutating func newPage() {
        page = doc.addPage()
        pages.append(page)
        y = pageHeight - margin
    }

    private mutating func ensureRoom(_ height: Float, repeatTableHeader: Bool = false) {
        if y - height < margin + 24 {
            newPage()
            text("\(settings.companyName) — Invoice \(invoice.summary.number) (continued)", x: margin, y: y, size: 8, bold: false)
            y -= 20
            if repeatTableHeader { drawTableHeader() }
        }
    }

    private mutating func drawHeader() {
        var top = y
        if let logo = doc.logo {
            let w = Float(HPDF_Image_GetWidth(logo)), h = Float(HPDF_Image_GetHeight(logo))
            let scale = min(1, 48 / max(h, 1), 160 / max(w, 1))
            HPDF_Page_DrawImage(page, logo, margin, top - h * scale, w * scale, h * scale)
        }
        let right = pageWidth - margin
        text(settings.companyName, x: right, y: top - 12, size: 12, bold: true, alignRight: true)
        top -= 26
        for line in settings.companyAddress.split(separator: "\n", omittingEmptySubsequences: false) {
            text(String(line), x: right, y: top, size: bodySize, bold: false, alignRight: true)
            top -= lineHeight
        }
        y = min(top, y - 60) - 16
        text("Invoice \(invoice.summary.number)", x: margin, y: y, size: 18, bold: true)
        y -= 24
        let facts: [(String, String)] = [
            ("Issue date", invoice.summary.issueDate.formatted),
            ("Due date", invoice.summary.dueDate.formatted),
            ("Status", invoice.summary.isOverdue ? "Overdue" : invoice.summary.status.label),
            ("Balance due", invoice.summary.balance.formatted),
        ]
        for (label, value) in facts {
            text(label, x: margin, y: y, size: bodySize, bold: false)
            text(value, x: margin + 80, y: y, size: bodySize, bold: true)
            y -= lineHeight
        }
        y -= 10
    }

    private mutating func drawBillTo() {
        text("Bill to", x: margin, y: y, size: bodySize, bold: true)
        y -= lineHeight
        let name = invoice.billToName.isEmpty ? invoice.accountName : invoice.billToName
        for line in [name] + invoice.billToAddress.split(separator: "\n").map(String.init) {
            for wrapped in wrap(line, width: 300, size: bodySize, bold: false) {
                text(wrapped, x: margin, y: y, size: bodySize, bold: false)
                y -= lineHeight
            }
        }
        y -= 14
    }

    private mutating func drawTableHeader() {
        fillRect(x: margin - 4, y: y - 4, width: pageWidth - 2 * margin + 8, height: lineHeight + 4, gray: 0.92)
        for column in columns {
            text(column.title, x: column.x, y: y, size: bodySize, bold: true, alignRight: column.alignRight)
        }
        y -= lineHeight + 6
    }

    private mutating func drawLines() {
        let currency = invoice.summary.total.currency
        let descriptionWidth = columns[0].width
        for line in invoice.lines {
            let wrapped = wrap(line.description, width: descriptionWidth, size: bodySize, bold: false)
            // Keep a line's description on one page when it fits on one.
            ensureRoom(min(Float(wrapped.count) * lineHeight, pageHeight / 2), repeatTableHeader: true)
            var first = true
            for (index, piece) in wrapped.enumerated() {
                ensureRoom(lineHeight, repeatTableHeader: true)
                text(piece, x: margin, y: y, size: bodySize, bold: false)
                if first {
                    let values = [line.quantity.formatted, Money(line.unitPrice, currency).formatted,
                                  line.discount == 0 ? "" : Money(-line.discount, currency).formatted,
                                  Money(line.tax, currency).formatted, Money(line.lineTotal, currency).formatted]
                    for (column, value) in zip(columns.dropFirst(), values) {
                        text(value, x: column.x, y: y, size: bodySize, bold: false, alignRight: true)
                    }
                    first = false
                }
                y -= lineHeight
                _ = index
            }
            strokeLine(y: y + 4, gray: 0.85)
            y -= 3
        }
        y -= 8
    }

    private mutating func drawTotals() {
        ensureRoom(5 * lineHeight + 10)
        let labelX = pageWidth - margin - 90
        let rows: [(String, Money, Bool)] = [
            ("Subtotal", invoice.subtotal, false), ("Tax", invoice.taxTotal, false), ("Total", invoice.summary.total, true),
            ("Paid", invoice.amountPaid, false), ("Balance due", invoice.summary.balance, true),
        ]
        for (label, amount, bold) in rows {
            text(label, x: labelX, y: y, size: bodySize + (bold ? 1 : 0), bold: bold, alignRight: true)
            text(amount.formatted, x: pageWidth - margin, y: y, size: bodySize + (bold ? 1 : 0), bold: bold, alignRight: true)
            y -= lineHeight + 2
        }
        y -= 12
    }

    private mutating func drawHowToPay(_ payURL: String) {
        var blocks: [(String, String)] = []
        if invoice.summary.balance.minorUnits > 0 && (invoice.summary.status == .open || invoice.summary.status == .partiallyPaid) {
            blocks.append(("How to pay", "Pay online by card at \(payURL), or sign in to the payment portal. Please quote invoice \(invoice.summary.number) with any payment."))
        }
        if !invoice.terms.isEmpty { blocks.append(("Terms", invoice.terms)) }
        if !invoice.notes.isEmpty { blocks.append(("Notes", invoice.notes)) }
        for (title, body) in blocks {
            ensureRoom(2 * lineHeight)
            text(title, x: margin, y: y, size: bodySize, bold: true)
            y -= lineHeight
            for paragraph in body.split(separator: "\n", omittingEmptySubsequences: false) {
                for wrapped in wrap(String(paragraph), width: pageWidth - 2 * margin, size: bodySize, bold: false) {
                    ensureRoom(lineHeight)
                    text(wrapped, x: margin, y: y, size: bodySize, bold: false)
                    y -= lineHeight
                }
            }
            y -= 8
        }
    }

    private func drawPageNumbers() {
        for (index, page) in pages.enumerated() {
            drawText(on: page, "Page \(index + 1) of \(pages.count)", x: pageWidth - margin, y: margin - 20, size: 8, bold: false, alignRight: true)
        }
    }

    // MARK: Primitives

    private func text(_ string: String, x: Float, y: Float, size: Float, bold: Bool, alignRight: Bool = false) {
        drawText(on: page, string, x: x, y: y, size: size, bold: bold, alignRight: alignRight)
    }

    private func drawText(on page: HPDF_Page, _ string: String, x: Float, y: Float, size: Float, bold: Bool, alignRight: Bool) {
        guard !string.isEmpty else { return }
        // Measure first: measuring changes the page's current font size.
        let startX = alignRight ? x - width(string, size: size, bold: bold, on: page) : x
        if bold {
            // Emphasis: fill and stroke the outline, which thickens the glyphs without a second font.
            HPDF_Page_SetLineWidth(page, size * 0.04)
            HPDF_Page_SetTextRenderingMode(page, HPDF_FILL_THEN_STROKE)
        }
        HPDF_Page_BeginText(page)
        HPDF_Page_SetFontAndSize(page, doc.font, size)
        HPDF_Page_TextOut(page, startX, y, string)
        HPDF_Page_EndText(page)
        if bold { HPDF_Page_SetTextRenderingMode(page, HPDF_FILL) }
    }

    private func width(_ string: String, size: Float, bold: Bool, on page: HPDF_Page? = nil) -> Float {
        let target = page ?? self.page!
        let space = unitWidth(" ", bold: bold, page: target)
        var total: Float = 0
        var first = true
        for word in string.split(separator: " ", omittingEmptySubsequences: false) {
            if !first { total += space }
            first = false
            if !word.isEmpty { total += unitWidth(String(word), bold: bold, page: target) }
        }
        return total * size
    }

    private func unitWidth(_ word: String, bold: Bool, page: HPDF_Page) -> Float {
        if let known = widths.get(word, bold: bold) { return known }
        HPDF_Page_SetFontAndSize(page, doc.font, 100)
        let measured = HPDF_Page_TextWidth(page, word) / 100
        widths.set(word, bold: bold, measured)
        return measured
    }

    /// Greedy word wrap by measured width; a single word wider than the column is broken by character.
    private func wrap(_ string: String, width maxWidth: Float, size: Float, bold: Bool) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in string.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            let candidate = current.isEmpty ? word : current + " " + word
            if width(candidate, size: size, bold: bold) <= maxWidth {
                current = candidate
                continue
            }
            if !current.isEmpty { lines.append(current) }
            current = ""
            var piece = ""
            for character in word {
                if width(piece + String(character), size: size, bold: bold) > maxWidth && !piece.isEmpty {
                    lines.append(piece)
                    piece = ""
                }
                piece.append(character)
            }
            current = piece
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }

    private func fillRect(x: Float, y: Float, width: Float, height: Float, gray: Float) {
        HPDF_Page_SetRGBFill(page, gray, gray, gray)
        HPDF_Page_Rectangle(page, x, y, width, height)
        HPDF_Page_Fill(page)
        HPDF_Page_SetRGBFill(page, 0, 0, 0)
    }

    private func strokeLine(y: Float, gray: Float) {
        HPDF_Page_SetRGBStroke(page, gray, gray, gray)
        HPDF_Page_SetLineWidth(page, 0.5)
        HPDF_Page_MoveTo(page, margin, y)
        HPDF_Page_LineTo(page, pageWidth - margin, y)
        HPDF_Page_Stroke(page)
    }
}

/// Word widths at font size 1, per font. One per document: never shared across threads.
private final class WidthCache {
    private var regular: [String: Float] = [:]
    private var bold: [String: Float] = [:]

    func get(_ word: String, bold isBold: Bool) -> Float? { isBold ? bold[word] : regular[word] }

    func set(_ word: String, bold isBold: Bool, _ width: Float) {
        if isBold { bold[word] = width } else { regular[word] = width }
    }
}
