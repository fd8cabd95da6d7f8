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
        case .neededForRecurring: "This is the only card on file and autopay or a payment plan uses it. Add another card first, or turn off autopay and cancel the plan."
        case .gateway(let message): "Your card could not be saved: \(message)"
        }
    }

    static let cardDetailsMissing = "Enter your card details in the secure card form."
    static let billingDetailsMissing = "Enter the name on the card and its billing postcode."

    static func payment(_ error: PaymentError) -> String {
        switch error {
        case .notConfigured: "Card payments are not set up for this portal yet."
        case .notFound: "That invoice or payment could not be found."
        case .formExpired: "This payment form has expired. Nothing was charged. Please review the payment and confirm it again."
        case .noInvoices: "Choose at least one invoice to pay."
        case .invoiceNotPayable(let number): "Invoice \(number) has nothing left to pay. Remove it and try again."
        case .mixedCurrencies: "These invoices are in different currencies. Pay each currency separately."
        case .invalidAmount: "Enter the amount to pay as a number, like 120.50."
        case .belowMinimum(let minimum): "The smallest payment we can take is \(minimum.formatted)."
        case .aboveBalance(let balance): "That is more than the \(balance.formatted) owed on these invoices. Enter \(balance.formatted) or less."
        case .methodNotFound: "Choose one of your saved cards, or enter a new card."
        case .methodExpired: "That card has expired. Choose another card or add a new one."
        case .cardNotSaved(let message): "Your card could not be used: \(message) Nothing was charged."
        case .gateway(let message): "The payment could not be made: \(message)"
        case .linkNotUsable: "This payment link can no longer be used. Nothing was charged. Ask the business that sent it for a new one."
        case .paymentInProgress(let number, _):
            "A payment for \(number) is already being processed, so nothing more was charged. Its result is shown under Payments; pay again only if it fails."
        }
    }

    static func refund(_ error: RefundError) -> String {
        switch error {
        case .notConfigured: "Card payments are not set up for this portal, so nothing can be refunded through it."
        case .notFound: "That payment could not be found."
        case .notRefundable(let status): "This payment is \(statusWords(status)), so it cannot be refunded."
        case .notVoidable(let status):
            "Only a payment that succeeded and has no refunds can be voided; this one is \(statusWords(status)). Refund it instead."
        case .amountTooLarge(let left): "That is more than is left to refund. Enter \(left.formatted) or less."
        case .invalidAmount: "Enter the amount to refund as a number in the payment's currency, like 25.00."
        case .reasonRequired: "Say why the money is being returned; the reason is kept in the audit trail."
        case .formExpired: "This form has expired. Nothing was refunded. Load the payment again and repeat the refund."
        case .notAtGateway: "This payment was not taken through the portal's card gateway. Return the money where it was paid."
        case .gateway(let message): "The gateway did not make the refund: \(message)"
        }
    }

    private static func statusWords(_ status: PaymentStatus) -> String {
        switch status {
        case .pending: "still processing"
        case .succeeded: "paid"
        case .failed: "failed"
        case .refunded: "already fully refunded"
        case .partiallyRefunded: "partly refunded"
        case .voided: "voided"
        }
    }

    /// Read by the gateway's delivery log and by whoever sets up the webhook, not by customers.
    static func webhook(_ error: WebhookError) -> String {
        switch error {
        case .unknownGateway: "No gateway of that name is configured here."
        case .invalidSignature: "The signature does not match the body. Check the webhook signing secret."
        case .stale: "The signature's timestamp is too old or too far ahead. Check the sender's clock; old events are not accepted."
        case .malformed: "The body is not an event this gateway sends."
        }
    }

    /// A declined or failed charge in plain words, with what to do next.
    static func decline(code: String?, gatewayMessage: String?) -> (what: String, next: String) {
        switch code ?? "" {
        case "insufficient_funds":
            ("Your card has insufficient funds.", "Use another card, or try again once funds are available.")
        case "expired_card":
            ("Your card has expired.", "Use another card, or add your new card under Payment methods.")
        case "incorrect_cvc", "incorrect_number", "invalid_expiry_month", "invalid_expiry_year", "incorrect_zip", "invalid_card":
            ("The card details were not accepted.", "Check the card details with your bank, or use another card.")
        case "authentication_required":
            ("Your bank's confirmation of this payment was not completed. Nothing was charged.", "Please try again and confirm with your bank when asked.")
        case "duplicate_transaction":
            ("Your bank saw this as a duplicate of a recent payment.", "Check your payment history before paying again.")
        case "processing_error", "not_received", "try_again_later":
            ("The payment could not be processed just now. Nothing was charged.", "Please try again in a few minutes.")
        case "stolen_card", "lost_card", "pickup_card", "fraudulent", "do_not_honor", "card_declined":
            ("Your card was declined by your bank.", "Contact your bank, or use another card.")
        case "card_not_saved", "method_missing":
            (gatewayMessage ?? "The card could not be used.", "Check the card details, or use another card.")
        default:
            (gatewayMessage.map { "The payment was declined: \($0)" } ?? "The payment was declined.", "Contact your bank, or use another card.")
        }
    }

    /// Read by staff, so it may say what state the customer is in.
    static func staffConsole(_ error: StaffConsoleError) -> String {
        switch error {
        case .notPermitted: "Your staff access does not allow this. Sign in again, or ask an admin."
        case .userNotFound: "That customer user no longer exists."
        case .reasonRequired: "Say why; the reason is kept in the audit trail."
        case .alreadyLocked: "This user is already locked."
        case .notLocked: "This user is not locked."
        case .mfaNotSetUp: "This user has no authenticator app set up, so there is nothing to reset."
        case .alreadyActive: "This user has already accepted their invitation. If they can't sign in, they can reset their password from the sign-in page."
        case .lockedUser: "This user is locked. Unlock them before sending a new invitation."
        case .noAccounts: "This user doesn't belong to any account, so there is nothing to invite them to."
        }
    }

    static func staffUser(_ error: StaffUserError) -> String {
        switch error {
        case .notPermitted: "Only an admin can manage staff users."
        case .notFound: "That staff user no longer exists."
        case .invalidEmail: "Enter a valid email address."
        case .emailTaken(let email): "There is already a staff user with the email \(email)."
        case .sameRole: "They already have that role."
        case .alreadyDisabled: "This staff user is already disabled."
        case .notDisabled: "This staff user is not disabled."
        case .cannotDisableSelf: "You can't disable your own staff user. Ask another admin."
        case .lastAdmin: "This is the only active admin. Make someone else an admin first."
        case .notInvited: "This staff user has already accepted their invitation or is disabled."
        }
    }

    static func recurring(_ error: RecurringError) -> String {
        switch error {
        case .notFound: "There is nothing to change: autopay or that plan is not set up."
        case .methodNotFound: "Choose one of your saved cards. Add a card under Payment methods first if you have none."
        case .methodExpired: "That card has expired. Choose another card or add a new one."
        case .invalidDays: "Choose between 1 and 30 days before the due date."
        case .invalidAmount: "Enter the instalment amount as a number, like 50.00."
        case .belowMinimum(let minimum): "Each instalment must be at least \(minimum.formatted)."
        case .aboveBalance(let balance): "That is more than the \(balance.formatted) owed. Enter \(balance.formatted) or less, or pay it in one go."
        case .nothingOwed: "Nothing is owed in that currency, so there is nothing for a plan to pay."
        case .invalidDates: "Choose a start date from today to a year ahead, and an end date after it (or none)."
        case .consentRequired: "Tick the box to agree to the automatic charges; nothing was set up."
        case .notActive: "That change doesn't apply now: check the current status."
        }
    }

    static func impersonation(_ error: ImpersonationError) -> String {
        switch error {
        case .reasonRequired: "Give the reason for viewing as this customer; it is recorded in the audit trail."
        case .unknownCategory: "Choose a reason category."
        case .customerNotFound: "That customer could not be found."
        case .customerNotActive: "This customer's sign-in is not active (invited or locked), so you can't view as them."
        case .targetIsStaff: "This sign-in belongs to a staff member; staff accounts can never be viewed as."
        case .alreadyImpersonating: "You are already viewing as a customer. Stop that first."
        case .notSignedIn: "Your staff sign-in has ended. Sign in again."
        }
    }

    // MARK: Payment links and the API

    /// Why a payment link can't be used to pay, and what to do: nil state is an unknown or altered link.
    static func paymentLink(_ state: VerifiedPaymentLink.State?) -> (title: String, message: String, next: String) {
        switch state {
        case nil: ("Payment link not valid", "This payment link is not valid. It may have been copied incompletely.",
                   "Check that you used the whole link from your invoice or email, or sign in to the portal to see your invoices.")
        case .payable: ("Pay invoice", "", "")
        case .processing: ("Payment being processed", "A payment for this invoice is already being processed, so it can't be paid again now.",
                           "Check back in a few minutes: if that payment fails, you can pay here again.")
        case .paid: ("Invoice already paid", "This invoice has been paid in full. There is nothing more to pay.",
                     "If you paid through this link, your receipt is in the portal under Payments once you sign in.")
        case .void: ("Invoice cancelled", "This invoice was cancelled, so it cannot be paid.",
                     "If you think this is a mistake, contact us and we will send a new invoice.")
        case .expired: ("Payment link expired", "This payment link has expired. Nothing was charged.",
                        "Ask us for a new link, or sign in to the portal to pay the invoice there.")
        case .revoked: ("Payment link withdrawn", "This payment link has been withdrawn and no longer works. Nothing was charged.",
                        "Use the newest link we sent you, ask us for a new one, or sign in to the portal to pay there.")
        }
    }

    static func paymentLinkIssue(_ error: PaymentLinkError) -> String {
        switch error {
        case .invoiceNotFound: "No invoice has that id. Send the portal's invoice id or the CRM's Invoice.Id."
        case .invoiceNotPayable(let number): "Invoice \(number) is paid, void or has nothing left to pay, so no payment link was made."
        case .reasonRequired: "Give a reason for withdrawing the payment link."
        case .notAllowed: "Only finance or admin staff can withdraw or issue payment links."
        case .invalid, .expired, .revoked, .paid, .void: paymentLink(nil).message
        case .processing: paymentLink(.processing).message
        case .unknownKey: "There is no signing key with that id."
        case .currentKey: "That is the key new links are signed with. Rotate the key first, then retire this one."
        }
    }

    static func apiKey(_ error: ApiKeyError) -> String {
        switch error {
        case .unauthenticated: "Send a valid API key as \"Authorization: Bearer <key>\". The key is missing, unknown or revoked."
        case .wrongScope(let scope): "This API key may not use this endpoint: it needs the \"\(scope)\" scope."
        case .rateLimited(let seconds): "Too many requests with this API key. Wait \(seconds) second\(seconds == 1 ? "" : "s") and try again."
        case .invalidName: "Give the key a name of 1 to 100 characters."
        case .invalidScope(let scope): scope.isEmpty ? "Give the key at least one scope, e.g. --scope payment-links."
            : "Unknown scope \"\(scope)\". Known scopes: \(ApiKeyService.knownScopes.sorted().joined(separator: ", "))."
        case .notFound: "There is no API key with that id."
        }
    }

    static func integration(_ error: IntegrationError) -> String {
        switch error {
        case .notConfigured: "Creatio is not configured for this portal, so records can't be read from the CRM. Set PORTAL_CREATIO_URL and its sign-in for `portal serve`."
        case .notPermitted: "The integration page needs the finance or admin role."
        case .notFound: "That record is no longer waiting: it was resolved or retried meanwhile. The page shows what is left."
        case .crmUnavailable(let reason): "Creatio could not be reached, so nothing was reprocessed: \(reason). Try again in a few minutes."
        }
    }

    static func reconciliationRange(_ problem: ReconciliationRange.Problem) -> String {
        switch problem {
        case .missing: "Enter both dates, from and to."
        case .malformed: "Dates are written YYYY-MM-DD."
        case .reversed: "The from date must not be after the to date."
        case .tooLong: "Choose a range of at most \(ReconciliationRange.maxDays) days."
        }
    }

    /// What reprocessing did, for the flash message.
    static func reprocessed(_ outcomes: [ReprocessOutcome]) -> String {
        if outcomes.count == 1, let outcome = outcomes.first {
            return outcome.error.map { "\(outcome.entity) \(outcome.crmId) still fails: \($0)" } ?? "\(outcome.entity) \(outcome.crmId) imported."
        }
        let failing = outcomes.filter { !$0.imported }
        var text = "Reprocessed \(outcomes.count) record\(outcomes.count == 1 ? "" : "s"): \(outcomes.count - failing.count) imported, \(failing.count) still failing."
        if let first = failing.first, let error = first.error { text += " First still failing: \(first.entity) \(first.crmId): \(error)" }
        return text
    }
}

/// The same words for the `portal` CLI, which cannot see `ErrorMessages` across the module boundary.
public enum ErrorWords {
    public static func apiKey(_ error: ApiKeyError) -> String { ErrorMessages.apiKey(error) }
    public static func paymentLink(_ error: PaymentLinkError) -> String { ErrorMessages.paymentLinkIssue(error) }
}
