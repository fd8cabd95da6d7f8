import CHaru
import Foundation

/// Who issues the invoices: printed at the top of every PDF.
public struct InvoiceDocumentSettings: Sendable {
    public var companyName: String
    public var companyAddress: String
    /// PNG file, optional.
    public var logoPath: String?
    /// TrueType fonts embedded in every PDF so any UTF-8 text ("Müller", "Łódź", "Ørsted") prints.
    public var fontPath: String
    public var boldFontPath: String

    public init(companyName: String, companyAddress: String = "", logoPath: String? = nil,
                fontPath: String = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                boldFontPath: String = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf") {
        self.companyName = companyName
        self.companyAddress = companyAddress
        self.logoPath = logoPath
        self.fontPath = fontPath
        self.boldFontPath = boldFontPath
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
public struct InvoicePDFRenderer: Sendable {
    public let settings: InvoiceDocumentSettings

    public init(settings: InvoiceDocumentSettings) throws {
        for path in [settings.fontPath, settings.boldFontPath] where !FileManager.default.isReadableFile(atPath: path) {
            throw InvoicePDFError.fontUnreadable(path)
        }
        self.settings = settings
    }

    public func render(_ invoice: InvoiceDetail, payURL: String) throws -> [UInt8] {
        let doc = try PDFDoc(settings: settings)
        defer { doc.free() }
        var layout = InvoicePDFLayout(doc: doc, settings: settings, invoice: invoice)
        try layout.draw(payURL: payURL)
        return try doc.bytes()
    }
}

/// A thin owner of one libharu document.
final class PDFDoc {
    let handle: HPDF_Doc
    let regular: HPDF_Font
    let bold: HPDF_Font
    var logo: HPDF_Image?

    init(settings: InvoiceDocumentSettings) throws {
        guard let handle = HPDF_New(nil, nil) else { throw InvoicePDFError.libharu(0) }
        self.handle = handle
        HPDF_SetCompressionMode(handle, UInt32(HPDF_COMP_ALL))
        HPDF_UseUTFEncodings(handle)
        HPDF_SetCurrentEncoder(handle, "UTF-8")
        guard let regularName = HPDF_LoadTTFontFromFile(handle, settings.fontPath, HPDF_TRUE),
              let boldName = HPDF_LoadTTFontFromFile(handle, settings.boldFontPath, HPDF_TRUE),
              let regular = HPDF_GetFont(handle, regularName, "UTF-8"),
              let bold = HPDF_GetFont(handle, boldName, "UTF-8") else {
            let code = HPDF_GetError(handle)
            HPDF_Free(handle)
            throw InvoicePDFError.libharu(UInt(code))
        }
        self.regular = regular
        self.bold = bold
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

    func free() { HPDF_Free(handle) }
}
