/// What the integration page's actions can refuse; words for people are in the web layer's ErrorMessages.
public enum IntegrationError: Error, Equatable, Sendable {
    /// No CRM connection is configured for this process.
    case notConfigured
    /// The actor is not an active finance or admin member (any more).
    case notPermitted
    /// No open failure or outbox row by that id (or it was resolved meanwhile).
    case notFound
    /// The CRM could not be asked; the text says why.
    case crmUnavailable(String)
}
