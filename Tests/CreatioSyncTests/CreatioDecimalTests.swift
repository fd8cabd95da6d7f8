import Testing
@testable import CreatioSync

@Suite struct CreatioDecimalTests {
    @Test func decimalsBecomeExactMinorUnits() throws {
        // 0.1 + 0.2 is 0.30000000000000004 in binary floating point; in minor units it is 30.
        #expect(try CreatioDecimal.scaled("0.1", digits: 2) + CreatioDecimal.scaled("0.2", digits: 2) == 30)
        #expect(try CreatioDecimal.scaled("120.5", digits: 2) == 12050)
        #expect(try CreatioDecimal.scaled("0.00", digits: 2) == 0)
        #expect(try CreatioDecimal.scaled("12345678901234.57", digits: 2) == 1_234_567_890_123_457)
        #expect(try CreatioDecimal.scaled("-7.3", digits: 2) == -730)
        #expect(try CreatioDecimal.scaled("1E+2", digits: 2) == 10000)
        #expect(try CreatioDecimal.scaled("2.5e-1", digits: 2) == 25)
        #expect(try CreatioDecimal.scaled("1500", digits: 0) == 1500)
        #expect(try CreatioDecimal.scaled("2.5", digits: 3) == 2500)
    }

    @Test func extraDigitsRoundHalfAwayFromZero() throws {
        #expect(try CreatioDecimal.scaled("1.005", digits: 2) == 101)
        #expect(try CreatioDecimal.scaled("1.0049", digits: 2) == 100)
        #expect(try CreatioDecimal.scaled("-0.015", digits: 2) == -2)
        #expect(try CreatioDecimal.scaled("0.0004", digits: 2) == 0)
        #expect(try CreatioDecimal.scaled("0.0006", digits: 2) == 0)
        #expect(try CreatioDecimal.scaled("0.006", digits: 2) == 1)
        #expect(try CreatioDecimal.scaled("9.995", digits: 2) == 1000)
        #expect(try CreatioDecimal.scaled("5e-3", digits: 2) == 1)
    }

    @Test func surroundingSpacesSignsAndExponentsReadAsBefore() throws {
        #expect(try CreatioDecimal.scaled(" \t12.50\u{00A0}", digits: 2) == 1250)
        #expect(try CreatioDecimal.scaled("+3", digits: 2) == 300)
        #expect(try CreatioDecimal.scaled(".5", digits: 2) == 50)
        #expect(try CreatioDecimal.scaled("5.", digits: 2) == 500)
        #expect(try CreatioDecimal.scaled("1.5E+1", digits: 0) == 15)
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("1e40", digits: 2) }
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("1e", digits: 2) }
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("-", digits: 2) }
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("١٢", digits: 2) }
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("1\n", digits: 2) }
    }

    @Test func refusesWhatIsNotANumber() {
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("abc", digits: 2) }
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("", digits: 2) }
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("1.2.3", digits: 2) }
        #expect(throws: CreatioDecimal.Failure.self) { try CreatioDecimal.scaled("99999999999999999999", digits: 2) }
    }
}
