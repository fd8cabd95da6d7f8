import PortalCore
import Testing

@Suite struct CSVWriterTests {
    @Test func quotesWhatNeedsQuotingAndEndsLinesWithCRLF() {
        var writer = CSVWriter()
        writer.row(["plain", "with,comma", "with \"quote\"", "two\nlines", ""])
        #expect(writer.text == "plain,\"with,comma\",\"with \"\"quote\"\"\",\"two\nlines\",\r\n")
    }

    @Test func neutralisesCellsASpreadsheetWouldRun() {
        #expect(CSVWriter.cell("=1+1") == "'=1+1")
        #expect(CSVWriter.cell("+1") == "'+1")
        #expect(CSVWriter.cell("-1") == "'-1")
        #expect(CSVWriter.cell("@SUM(A1)") == "'@SUM(A1)")
        #expect(CSVWriter.cell("\tx") == "'\tx")
        #expect(CSVWriter.cell("=A1,B1") == "\"'=A1,B1\"")
        #expect(CSVWriter.cell("a=1") == "a=1")
    }
}
