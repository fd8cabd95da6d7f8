import Testing
@Test func placeholderWeb() { #expect(true) }
