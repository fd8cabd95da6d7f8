/// The decline vocabulary every adapter reports in (Stripe's codes, which the sandbox copies and the
/// Authorize.Net adapter maps its reason codes onto), so the portal words and retries declines one way.
enum DeclineCode {
    /// Hard declines never succeed on retry; the rest may (Stripe's own guidance).
    static func retryable(_ code: String) -> Bool {
        !["stolen_card", "lost_card", "pickup_card", "fraudulent", "expired_card", "incorrect_cvc", "incorrect_number",
          "invalid_account", "card_not_supported", "do_not_honor_permanently", "restricted_card", "incorrect_zip",
          "invalid_expiry_year"].contains(code)
    }
}
