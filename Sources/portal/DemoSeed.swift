import PortalCore

/// The demo's fixed data and logins. Used by `portal demo` only.
struct DemoSeed {
    static let password = "portal-demo-pass"
    static let totpSecret = "JBSWY3DPEHPK3PXP"
    let services: PortalServices

    struct Result {
        var carolInviteLink: String
    }

    /// `creatio`: the CRM account of the demo's Creatio simulator, whose invoices arrive by sync;
    /// Dana signs in to it.
    func run(creatio: (crmId: String, name: String)? = nil) async throws -> Result {
        let directory = services.directory
        let acme = try await directory.upsertAccount(name: "Acme Widgets GmbH", externalId: "demo-account-acme")
        let orsted = try await directory.upsertAccount(name: "Ørsted & Müller Consulting", externalId: "demo-account-orsted")
        let bakery = try await directory.upsertAccount(name: "Łódź Bakery Sp. z o.o.", externalId: "demo-account-bakery")
        let system = AuditEvent(action: "demo.seed", actorKind: .system, actorLabel: "demo", clientAddress: "demo")

        guard let secret = Base32.decode(Self.totpSecret) else { fatalError("demo TOTP secret is not base32") }
        for (email, name, accounts) in [
            ("alice@example.com", "Alice Andersen", [acme.id, orsted.id]),
            ("bob@example.com", "Bob Baker", [bakery.id]),
        ] {
            _ = try await services.invitations.invite(email: email, name: name, accounts: accounts, invitedBy: system)
            let id = try await directory.activateCustomerForDemo(email: email, password: Self.password)
            _ = try await services.mfa.enrolKnownSecret(.customer(id), secret: secret)
        }
        if let creatio {
            // Created ahead of the first pull, which finds it by its CRM id and fills in its invoices.
            let fabrikam = try await directory.upsertAccount(name: creatio.name, externalId: creatio.crmId)
            _ = try await services.invitations.invite(email: "dana@example.com", name: "Dana Dvořák", accounts: [fabrikam.id], invitedBy: system)
            let id = try await directory.activateCustomerForDemo(email: "dana@example.com", password: Self.password)
            _ = try await services.mfa.enrolKnownSecret(.customer(id), secret: secret)
        }
        let carol = try await services.invitations.invite(email: "carol@example.com", name: "Carol Chen", accounts: [acme.id], invitedBy: system)
        let admin = try await directory.createStaff(email: "admin@example.com", name: "Demo Admin", role: .admin,
                                                    password: Self.password, actor: system)
        _ = try await services.mfa.enrolKnownSecret(.staff(admin.id), secret: secret)
        try await DemoInvoices(services: services, today: CalendarDate(services.clock.now())).seed(acme: acme, orsted: orsted, bakery: bakery)
        return Result(carolInviteLink: carol.link)
    }
}
