import Hummingbird
import PortalCore

/// `/autopay`: turning autopay on (with the consent it records), pausing, resuming and cancelling
/// it; setting up and cancelling payment plans; and the charges both will make.
struct AutopayController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on group: RouterGroup<CustomerRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.autopay), use: page)
        group.post(RouterPath(stringLiteral: SitePath.autopay), use: enroll)
        group.post(RouterPath(stringLiteral: SitePath.autopay + "/{change}"), use: change)
        group.post(RouterPath(stringLiteral: SitePath.plans), use: createPlan)
        group.post(RouterPath(stringLiteral: SitePath.plans + "/{id}/cancel"), use: cancelPlan)
    }

    @Sendable func page(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        try await render(context, [:], status: .ok)
    }

    @Sendable func enroll(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope, let account = context.identity.activeAccount else { throw PageError.notFound }
        let form = context.form
        let timing: AutopayTiming
        if form.value("timing") == "days_before" {
            guard let days = Int(form.value("days_before")) else {
                return try await render(context, ["autopayError": ErrorMessages.recurring(.invalidDays)], status: .unprocessableContent)
            }
            timing = .daysBefore(days)
        } else {
            timing = .onDueDate
        }
        do {
            try await services.autopay.enroll(scope, methodId: form.value("method"), timing: timing, consentGiven: form.value("consent") == "yes",
                                              accountName: account.name, email: context.identity.user.email, client: context.client,
                                              actor: context.actor)
        } catch let error as RecurringError {
            return try await render(context, ["autopayError": ErrorMessages.recurring(error)], status: .unprocessableContent)
        }
        return redirect(.autopayOn)
    }

    @Sendable func change(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope, let account = context.identity.activeAccount,
              let change = AutopayService.Change(rawValue: context.parameters.get("change") ?? "") else { throw PageError.notFound }
        do {
            try await services.autopay.change(scope, change, accountName: account.name, email: context.identity.user.email, actor: context.actor)
        } catch let error as RecurringError {
            return try await render(context, ["autopayError": ErrorMessages.recurring(error)], status: .unprocessableContent)
        }
        return redirect([.pause: .autopayPaused, .resume: .autopayResumed, .cancel: .autopayCancelled][change] ?? .autopayOn)
    }

    @Sendable func createPlan(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope, let account = context.identity.activeAccount else { throw PageError.notFound }
        let form = context.form
        let entered: [String: Any] = ["planAmount": form.value("amount"), "planStart": form.value("start_date"), "planEnd": form.value("end_date")]
        func failed(_ message: String) async throws -> Response {
            try await render(context, entered.merging(["planError": message]) { _, new in new }, status: .unprocessableContent)
        }
        guard let currency = CurrencyCode(form.value("currency")), let amount = Money.parse(form.value("amount"), currency: currency) else {
            return try await failed(ErrorMessages.recurring(.invalidAmount))
        }
        guard let frequency = PlanFrequency(rawValue: form.value("frequency")), let start = CalendarDate(iso: form.value("start_date")) else {
            return try await failed(ErrorMessages.recurring(.invalidDates))
        }
        let endText = form.value("end_date")
        let end = CalendarDate(iso: endText)
        if !endText.isEmpty && end == nil { return try await failed(ErrorMessages.recurring(.invalidDates)) }
        do {
            try await services.plans.create(scope, .init(methodId: form.value("method"), amount: amount, frequency: frequency, startDate: start,
                                                         endDate: end, consentGiven: form.value("consent") == "yes"),
                                            accountName: account.name, email: context.identity.user.email, client: context.client,
                                            actor: context.actor)
        } catch let error as RecurringError {
            return try await failed(ErrorMessages.recurring(error))
        }
        return redirect(.planCreated)
    }

    @Sendable func cancelPlan(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope, let account = context.identity.activeAccount else { throw PageError.notFound }
        do {
            try await services.plans.cancel(scope, planId: context.parameters.get("id") ?? "", accountName: account.name,
                                            email: context.identity.user.email, actor: context.actor)
        } catch RecurringError.notFound {
            throw PageError.notFound
        } catch let error as RecurringError {
            return try await render(context, ["planError": ErrorMessages.recurring(error)], status: .unprocessableContent)
        }
        return redirect(.planCancelled)
    }

    private func render(_ context: CustomerRequestContext, _ extra: [String: Any], status: HTTPResponse.Status) async throws -> Response {
        guard let scope = context.scope else {
            return renderer.render("autopay", PageContext.customer(context, title: "Autopay", ["noAccount": true]))
        }
        let methods = try await services.paymentMethods.list(scope).filter { $0.expiry != .expired }
        let enrollment = try await services.autopay.current(scope)
        var plans: [[String: Any]] = []
        for plan in try await services.plans.list(scope) {
            let schedule = try await services.plans.schedule(scope, plan: plan)
            plans.append(ViewValues.compact([
                "id": plan.id, "amount": plan.amount.formatted, "frequency": plan.frequency.rawValue, "card": plan.methodLabel,
                "status": plan.status.rawValue, "active": plan.status == .active, "starts": plan.startDate.formatted,
                "ends": plan.endDate?.formatted, "cancelAction": SitePath.planCancel(plan.id), "consent": plan.consentText,
                "schedule": schedule.map { ["date": $0.date.formatted, "amount": $0.amount.formatted] }, "hasSchedule": !schedule.isEmpty,
            ]))
        }
        let currencies = try await services.invoices.dashboard(scope).balances.map(\.currency.code)
        let upcoming = try await services.autopay.upcoming(scope)
        var values: [String: Any] = ViewValues.compact([
            "methods": methods.enumerated().map { index, method in
                ViewValues.compact(["id": method.id, "label": method.label, "checked": method.isDefault || (index == 0 && !methods.contains { $0.isDefault })])
            },
            "hasMethods": !methods.isEmpty,
            "enrollment": enrollment.map { enrollment -> [String: Any] in ViewValues.compact([
                "card": enrollment.methodLabel, "timing": enrollment.timing.label, "status": enrollment.status.rawValue,
                "active": enrollment.status == .active, "paused": enrollment.status == .paused, "consent": enrollment.consentText,
                "consentVersion": enrollment.consentVersion, "since": PageContext.date(enrollment.consentedAt),
            ]) },
            "upcoming": upcoming.map { ["date": $0.date.formatted, "amount": $0.amount.formatted, "what": $0.description] },
            "hasUpcoming": !upcoming.isEmpty,
            "plans": plans, "hasPlans": !plans.isEmpty,
            "currencies": currencies.map { ["code": $0] }, "owesSomething": !currencies.isEmpty,
            "today": CalendarDate(services.clock.now()).iso,
            "consentPreview": RecurringConsent.autopay(account: context.identity.activeAccount?.name ?? "", card: "the card you choose",
                                                       timing: .onDueDate)
                .replacingOccurrences(of: "on each invoice's due date", with: "on the day you choose"),
        ])
        values.merge(extra) { _, new in new }
        return renderer.render("autopay", PageContext.customer(context, title: "Autopay and payment plans", values), status: status)
    }

    private func redirect(_ flash: FlashMessage) -> Response {
        var response = Response.redirect(to: SitePath.autopay, type: .normal)
        response.setCookie(cookies.flash(flash))
        return response
    }
}
