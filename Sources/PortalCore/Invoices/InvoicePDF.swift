import CHaru
import Foundation
import Synchronization

/// Who issues the invoices: printed at the top of every PDF.
public struct InvoiceDocumentSettings: Sendable {
    public var companyName: String
    public var companyAddress: String
    /// PNG file, optional.
    public var logoPath: String?
    /// The TrueType font embedded in every PDF so any UTF-8 text ("Müller", "Łódź", "Ørsted") prints.
    /// One font only: libharu builds a 65,536-entry glyph map per font per document (half the cost
    /// of a PDF), so emphasis is drawn by stroking the regular font rather than embedding a bold one.
    public var fontPath: String

    public init(companyName: String, companyAddress: String = "", logoPath: String? = nil,
                fontPath: String = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") {
        self.companyName = companyName
        self.companyAddress = companyAddress
        self.logoPath = logoPath
        self.fontPath = fontPath
    }
}

public enum InvoicePDFError: Error, Equatable, CustomStringConvertible {
    case libharu(UInt)
    case fontUnreadable(String)

    public var description: String {
        switch self {
        case .libharu(let code): "PDF generation failed (libharu error 0x\(String(code, radix: 16)))"
        case .fontUnreadable(let path): "PDF font \(path) cannot be read"
        }
    }
}

/// Renders an invoice to PDF with libharu: header, bill-to, a lines table that wraps long
/// descriptions and continues across pages under a repeated header, totals, and how to pay.
///
/// Loading the TrueType font is the fixed cost of every PDF, so libharu handles are kept in a
/// small pool: `HPDF_FreeDoc` ends a document but keeps its loaded font for the next one.
public struct InvoicePDFRenderer: Sendable {
    public let settings: InvoiceDocumentSettings
    private let handles: PDFHandlePool

    public init(settings: InvoiceDocumentSettings) throws {
        guard FileManager.default.isReadableFile(atPath: settings.fontPath) else {
            throw InvoicePDFError.fontUnreadable(settings.fontPath)
        }
        self.settings = settings
        self.handles = PDFHandlePool(settings: settings)
        // Fail at startup, not on a customer's request, if the fonts cannot be loaded.
        handles.give(try handles.take())
    }

    public func render(_ invoice: InvoiceDetail, payURL: String) throws -> [UInt8] {
        // A handle whose document failed is dropped rather than returned to the pool.
        let handle = try handles.take()
        let doc = try PDFDoc(handle: handle, settings: settings)
        var layout = InvoicePDFLayout(doc: doc, settings: settings, invoice: invoice)
        try layout.draw(payURL: payURL)
        let bytes = try doc.bytes()
        doc.end()
        handles.give(handle)
        return bytes
    }
}

/// One libharu handle with both fonts loaded. Used by one thread at a time (the pool hands it out).
final class PDFHandle: @unchecked Sendable {
    let raw: HPDF_Doc
    let fontName: String

    init(settings: InvoiceDocumentSettings) throws {
        guard let raw = HPDF_New(nil, nil) else { throw InvoicePDFError.libharu(0) }
        HPDF_UseUTFEncodings(raw)
        guard let name = HPDF_LoadTTFontFromFile(raw, settings.fontPath, HPDF_TRUE).map({ String(cString: $0) }) else {
            let code = HPDF_GetError(raw)
            HPDF_Free(raw)
            throw InvoicePDFError.libharu(UInt(code))
        }
        self.raw = raw
        fontName = name
    }

    deinit { HPDF_Free(raw) }
}

/// Idle handles, at most a few (one per rendering thread); more are made on demand.
final class PDFHandlePool: Sendable {
    private let idle = Mutex<[PDFHandle]>([])
    private let settings: InvoiceDocumentSettings
    private let keep = 4

    init(settings: InvoiceDocumentSettings) { self.settings = settings }

    func take() throws -> PDFHandle {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        return try PDFHandle(settings: settings)
    }

    func give(_ handle: PDFHandle) {
        idle.withLock { if $0.count < keep { $0.append(handle) } }
    }
}

/// One document being written on a pooled handle.
final class PDFDoc {
    let handle: HPDF_Doc
    let font: HPDF_Font
    var logo: HPDF_Image?

    init(handle pooled: PDFHandle, settings: InvoiceDocumentSettings) throws {
        let handle = pooled.raw
        self.handle = handle
        guard HPDF_NewDoc(handle) == HPDF_OK else { throw InvoicePDFError.libharu(UInt(HPDF_GetError(handle))) }
        HPDF_SetCompressionMode(handle, UInt32(HPDF_COMP_ALL))
        HPDF_SetCurrentEncoder(handle, "UTF-8")
        guard let font = HPDF_GetFont(handle, pooled.fontName, "UTF-8") else {
            throw InvoicePDFError.libharu(UInt(HPDF_GetError(handle)))
        }
        self.font = font
        if let logoPath = settings.logoPath, FileManager.default.isReadableFile(atPath: logoPath) {
            logo = HPDF_LoadPngImageFromFile(handle, logoPath)
            if logo == nil { HPDF_ResetError(handle) }
        }
    }

    func addPage() -> HPDF_Page {
        let page = HPDF_AddPage(handle)!
        HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT)
        return page
    }

    func bytes() throws -> [UInt8] {
        guard HPDF_SaveToStream(handle) == HPDF_OK else { throw InvoicePDFError.libharu(UInt(HPDF_GetError(handle))) }
        var size = HPDF_GetStreamSize(handle)
        var buffer = [UInt8](repeating: 0, count: Int(size))
        let status = buffer.withUnsafeMutableBufferPointer { HPDF_ReadFromStream(handle, $0.baseAddress, &size) }
        guard status == HPDF_OK || status == UInt(HPDF_STREAM_EOF) else { throw InvoicePDFError.libharu(UInt(status)) }
        return Array(buffer.prefix(Int(size)))
    }

    /// Ends the document, keeping the handle's fonts for the next one.
    func end() { HPDF_FreeDoc(handle) }
}
