import PortalCore

/// The one place service errors become words for people. Messages say what happened and what to
/// do next, and never reveal whether an email address has an account.
enum ErrorMessages {
    static func signIn(_ error: SignInError) -> String {
        switch error {
        case .invalidCredentials: "That email and password don't match. Check both and try again, or reset your password."
        case .invalidCode: "That code didn't work. Enter the current 6-digit code from your authenticator app, or one of your recovery codes. Each code works only once."
        case .slowDown(let seconds): "Too many failed attempts. Wait \(seconds) second\(seconds == 1 ? "" : "s") and try again."
        case .locked(let seconds): "Too many failed attempts, so sign-in is paused for \(max(1, (seconds + 59) / 60)) minute\(seconds > 60 ? "s" : ""). You can still reset your password by email."
        case .sessionExpired: FlashMessage.sessionExpired.text
        }
    }

    static func isThrottle(_ error: SignInError) -> Bool {
        switch error {
        case .slowDown, .locked: true
        default: false
        }
    }

    static func password(_ violation: PasswordPolicy.Violation) -> String { violation.message }

    static func accountSecurity(_ error: AccountSecurityError) -> String {
        switch error {
        case .wrongPassword: "Your current password is not correct."
        case .weakPassword(let violation): violation.message
        case .passwordsDiffer: "The two new passwords don't match."
        case .invalidCode: "That code didn't work. Enter the current code from your authenticator app or an unused recovery code."
        case .notEnrolled: "Set up an authenticator app first."
        case .sessionNotFound: "That session no longer exists."
        }
    }

    static func invitation(_ error: InvitationError) -> String {
        switch error {
        case .invalidOrExpired: "This invitation link has expired or was already used. Ask your contact to send a new one."
        case .unknownAccount(let account): "Unknown account \(account)."
        case .invalidEmail: "Enter a valid email address."
        case .weakPassword(let violation): violation.message
        case .passwordsDiffer: "The two passwords don't match."
        }
    }

    static func passwordReset(_ error: PasswordResetError) -> String {
        switch error {
        case .invalidOrExpired: "This reset link has expired or was already used. Request a new one."
        case .weakPassword(let violation): violation.message
        case .passwordsDiffer: "The two passwords don't match."
        }
    }

    static func mfa(_ error: MFAError) -> String {
        switch error {
        case .invalidCode: "That code didn't match. Check the time on your phone is set automatically and enter the current code."
        case .alreadyEnrolled: "An authenticator is already set up for this account."
        case .notEnrolled, .noPendingEnrolment: "Start the authenticator setup again."
        }
    }

    static func paymentMethod(_ error: PaymentMethodError) -> String {
        switch error {
        case .notConfigured: "Card payments are not set up for this portal yet."
        case .notFound: "That card is no longer on file."
        case .gateway(let message): "Your card could not be saved: \(message)"
        }
    }
}
