/// What the sandbox does with a card. Chosen by the test card number at tokenization; the number
/// itself is never stored.
public enum SandboxScenario: String, Sendable, CaseIterable {
    case success
    case genericDecline = "generic_decline"
    case insufficientFunds = "insufficient_funds"
    case expiredCard = "expired_card"
    case incorrectCVC = "incorrect_cvc"
    case authenticationRequired = "authentication_required"
    case processingError = "processing_error"
    case stolenCard = "stolen_card"
    case timeout

    /// Decline code, message and whether a later retry may succeed (soft) or never will (hard).
    var decline: (code: String, message: String, retryable: Bool)? {
        switch self {
        case .genericDecline: ("card_declined", "Your card was declined.", true)
        case .insufficientFunds: ("insufficient_funds", "Your card has insufficient funds.", true)
        case .expiredCard: ("expired_card", "Your card has expired.", false)
        case .incorrectCVC: ("incorrect_cvc", "Your card's security code is incorrect.", false)
        case .processingError: ("processing_error", "An error occurred while processing your card. Try again in a little bit.", true)
        case .stolenCard: ("stolen_card", "Your card was declined.", false)
        case .success, .authenticationRequired, .timeout: nil
        }
    }
}

/// The sandbox's documented test cards. Any other Luhn-valid number behaves like `success`.
public enum SandboxTestCards {
    public static let all: [(number: String, scenario: SandboxScenario, description: String)] = [
        ("4242424242424242", .success, "Visa, approved"),
        ("5555555555554444", .success, "Mastercard, approved"),
        ("378282246310005", .success, "American Express, approved (4-digit CVC)"),
        ("4000000000000002", .genericDecline, "declined: card_declined"),
        ("4000000000009995", .insufficientFunds, "declined: insufficient_funds"),
        ("4000000000000069", .expiredCard, "declined: expired_card"),
        ("4000000000000127", .incorrectCVC, "declined: incorrect_cvc"),
        ("4000002500003155", .authenticationRequired, "needs 3-D Secure authentication, then approved"),
        ("4000000000000119", .processingError, "declined: processing_error (retryable)"),
        ("4000000000009979", .stolenCard, "declined: stolen_card (hard decline, never retry)"),
        ("4000000000000259", .timeout, "charged, but the response never arrives in time"),
    ]

    static func scenario(for number: String) -> SandboxScenario {
        all.first { $0.number == number }?.scenario ?? .success
    }

    static func brand(for number: String) -> String {
        if number.hasPrefix("4") { return "visa" }
        if let two = Int(number.prefix(2)), (51...55).contains(two) { return "mastercard" }
        if let four = Int(number.prefix(4)), (2221...2720).contains(four) { return "mastercard" }
        if number.hasPrefix("34") || number.hasPrefix("37") { return "amex" }
        if number.hasPrefix("6011") || number.hasPrefix("65") { return "discover" }
        return "unknown"
    }

    static func luhnValid(_ digits: [Int]) -> Bool {
        var sum = 0
        for (index, digit) in digits.reversed().enumerated() {
            let value = index % 2 == 1 ? digit * 2 : digit
            sum += value > 9 ? value - 9 : value
        }
        return sum % 10 == 0
    }
}
