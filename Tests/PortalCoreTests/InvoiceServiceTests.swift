import Foundation
import GRDB
import Testing
@testable import PortalCore

@Suite struct InvoiceServiceTests {
    let eur = CurrencyCode("EUR")!
    let usd = CurrencyCode("USD")!

    private func line(_ position: Int, _ description: String, qtyMilli: Int64 = 1000, price: Int64, tax: Int64 = 0) -> InvoiceLine {
        var line = InvoiceLine(position: position, description: description, quantity: Quantity(milli: qtyMilli), unitPrice: price, lineTotal: 0)
        line.lineTotal = line.expectedTotal
        line.tax = tax
        return line
    }

    private func input(_ account: String, _ number: String, due: CalendarDate, currency: CurrencyCode? = nil, amount: Int64 = 10_000,
                       status: InvoiceStatus = .open) -> InvoiceInput {
        let lines = [line(1, "Item", price: amount)]
        return InvoiceInput(accountId: account, externalId: "crm-\(number)", number: number, issueDate: due.adding(days: -30),
                            dueDate: due, currency: currency ?? eur, lines: lines, subtotal: amount, taxTotal: 0, total: amount,
                            crmStatus: status)
    }

    /// Alice in two accounts, Bob in one.
    private func world() async throws -> (TestServices, alice: String, bob: String, acme: Account, other: Account, bakery: Account) {
        let t = try await TestServices()
        let (alice, _) = try await t.activeCustomer("alice@example.com")
        let (bob, _) = try await t.activeCustomer("bob@example.com")
        let acme = try await t.services.directory.upsertAccount(name: "Acme alice@example.com", externalId: "ext-alice@example.com")
        let bakery = try await t.services.directory.upsertAccount(name: "Acme bob@example.com", externalId: "ext-bob@example.com")
        let other = try await t.services.directory.upsertAccount(name: "Zeta Holdings", externalId: "zeta")
        _ = try await t.services.invitations.invite(email: "alice@example.com", accounts: [other.id], invitedBy: AuditEvent(action: "t", actorKind: .system))
        return (t, alice, bob, acme, other, bakery)
    }

    @Test func statusAndOverdueAreDerived() {
        let today = CalendarDate(iso: "2026-11-28")!
        #expect(InvoiceStatusRules.status(crmStatus: .open, total: 100, amountPaid: 0) == .open)
        #expect(InvoiceStatusRules.status(crmStatus: .open, total: 100, amountPaid: 40) == .partiallyPaid)
        #expect(InvoiceStatusRules.status(crmStatus: .open, total: 100, amountPaid: 100) == .paid)
        #expect(InvoiceStatusRules.status(crmStatus: .void, total: 100, amountPaid: 0) == .void)
        #expect(InvoiceStatusRules.status(crmStatus: .draft, total: 100, amountPaid: 0) == .draft)
        #expect(InvoiceStatusRules.isOverdue(status: .open, dueDate: CalendarDate(iso: "2026-11-27")!, balance: 1, today: today))
        #expect(!InvoiceStatusRules.isOverdue(status: .open, dueDate: today, balance: 1, today: today))
        #expect(InvoiceStatusRules.isOverdue(status: .partiallyPaid, dueDate: CalendarDate(iso: "2026-01-01")!, balance: 5, today: today))
        #expect(!InvoiceStatusRules.isOverdue(status: .paid, dueDate: CalendarDate(iso: "2026-01-01")!, balance: 0, today: today))
        #expect(!InvoiceStatusRules.isOverdue(status: .void, dueDate: CalendarDate(iso: "2026-01-01")!, balance: 5, today: today))
    }

    @Test func mismatchedTotalsAreStoredAsSentAndFlagged() async throws {
        let (t, alice, _, acme, _, _) = try await world()
        var bad = input(acme.id, "INV-BAD", due: CalendarDate(t.clock.date).adding(days: 10))
        bad.total = 12_345 // lines say 10,000
        let id = try await t.services.invoices.upsert(bad)
        let detail = try await t.services.invoices.detail(userId: alice, invoiceId: id)
        #expect(detail.totalsMismatch)
        #expect(detail.summary.total.minorUnits == 12_345)
        #expect(detail.summary.balance.minorUnits == 12_345)
        let good = try await t.services.invoices.upsert(input(acme.id, "INV-GOOD", due: CalendarDate(t.clock.date)))
        #expect(try await !t.services.invoices.detail(userId: alice, invoiceId: good).totalsMismatch)
    }

    @Test func aBatchedUpsertWritesEachRecordAloneSoOneFailureSpoilsNoOther() async throws {
        let (t, alice, _, acme, _, _) = try await world()
        let due = CalendarDate(t.clock.date).adding(days: 10)
        var first = input(acme.id, "INV-B1", due: due)
        first.lines[0].externalId = "crm-line-shared"
        var empty = input(acme.id, "INV-B2", due: due)
        empty.number = " "
        // Valid on its own, but its line's CRM id is already INV-B1's: the database refuses it mid-write.
        var clash = input(acme.id, "INV-B3", due: due)
        clash.lines = [line(1, "Other", price: 500), line(2, "Clash", price: 9_500)]
        clash.lines[1].externalId = "crm-line-shared"
        let last = input(acme.id, "INV-B4", due: due)

        let results = try await t.services.invoices.upsert([first, empty, clash, last])
        #expect(results.count == 4)
        #expect((try? results[0].get()) != nil)
        #expect(throws: InvoiceError.invalid("invoice number is empty")) { try results[1].get() }
        #expect(throws: (any Error).self) { try results[2].get() }
        let lastId = try results[3].get()
        #expect(try await t.services.invoices.detail(userId: alice, invoiceId: lastId).summary.number == "INV-B4")
        let numbers = try await t.database.pool.read { try String.fetchAll($0, sql: "SELECT number FROM invoices WHERE number LIKE 'INV-B%' ORDER BY number") }
        #expect(numbers == ["INV-B1", "INV-B4"])
        // The refused invoice left no half-written line behind.
        #expect(try await t.database.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM invoice_lines WHERE description IN ('Other', 'Clash')") } == 0)

        // The same call updates by CRM id, as the single upsert does.
        var changed = last
        changed.total = 12_000
        let again = try await t.services.invoices.upsert([changed])
        #expect(try again[0].get() == lastId)
        #expect(try await t.services.invoices.detail(userId: alice, invoiceId: lastId).summary.total.minorUnits == 12_000)
    }

    @Test func lineTotalsRoundHalfAwayFromZero() {
        #expect(InvoiceLine(position: 1, description: "", quantity: Quantity(milli: 1500), unitPrice: 333, lineTotal: 0).expectedTotal == 500)
        #expect(InvoiceLine(position: 1, description: "", quantity: Quantity(milli: 333), unitPrice: 100, discount: 3, lineTotal: 0).expectedTotal == 30)
        #expect(Quantity(milli: 1500).formatted == "1.5" && Quantity(milli: 2000).formatted == "2" && Quantity(milli: 125).formatted == "0.125")
        #expect(Money(123_456_789, CurrencyCode("EUR")!).formatted == "€1,234,567.89")
        #expect(Money(-500, CurrencyCode("USD")!).formatted == "-$5.00")
        #expect(Money(1_000, CurrencyCode("JPY")!).formatted == "¥1,000")
        #expect(Money(1_234, CurrencyCode("CHF")!).formatted == "CHF 12.34")
        #expect(Money(5, CurrencyCode("EUR")!).plain == "0.05")
    }

    @Test func aPaymentIsAllocatedOldestDueFirstAndSumsToItsAmount() async throws {
        let (t, alice, _, acme, _, _) = try await world()
        let today = CalendarDate(t.clock.date)
        let newer = try await t.services.invoices.upsert(input(acme.id, "INV-2", due: today.adding(days: 5), amount: 10_000))
        let older = try await t.services.invoices.upsert(input(acme.id, "INV-1", due: today.adding(days: -5), amount: 6_000))
        let paymentId = try await t.services.ledger.recordSucceeded(.init(accountId: acme.id, invoiceIds: [newer, older], amount: Money(9_000, eur)))
        let allocations = try await t.database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT invoice_id, amount FROM payment_allocations WHERE payment_id = ?", arguments: [paymentId])
        }
        #expect(allocations.reduce(0) { $0 + ($1["amount"] as Int64) } == 9_000)
        let olderDetail = try await t.services.invoices.detail(userId: alice, invoiceId: older)
        let newerDetail = try await t.services.invoices.detail(userId: alice, invoiceId: newer)
        #expect(olderDetail.summary.status == .paid && olderDetail.summary.balance.minorUnits == 0)
        #expect(newerDetail.summary.status == .partiallyPaid && newerDetail.summary.balance.minorUnits == 7_000)
        #expect(newerDetail.payments.first?.allocated.minorUnits == 3_000 && newerDetail.payments.first?.amount.minorUnits == 9_000)
        await #expect(throws: PaymentRecordError.amountExceedsBalance) {
            try await t.services.ledger.recordSucceeded(.init(accountId: acme.id, invoiceIds: [newer], amount: Money(7_001, eur)))
        }
        await #expect(throws: PaymentRecordError.invoiceNotPayable(older)) {
            try await t.services.ledger.recordSucceeded(.init(accountId: acme.id, invoiceIds: [older], amount: Money(1, eur)))
        }
    }

    @Test func anotherCustomersInvoiceIsNotFound() async throws {
        let (t, alice, bob, acme, other, bakery) = try await world()
        let today = CalendarDate(t.clock.date)
        let bobs = try await t.services.invoices.upsert(input(bakery.id, "BOB-1", due: today))
        let alices = try await t.services.invoices.upsert(input(acme.id, "ALICE-1", due: today))
        let draft = try await t.services.invoices.upsert(input(acme.id, "DRAFT-1", due: today, status: .draft))
        await #expect(throws: InvoiceError.notFound) { try await t.services.invoices.detail(userId: alice, invoiceId: bobs) }
        await #expect(throws: InvoiceError.notFound) { try await t.services.invoices.detail(userId: bob, invoiceId: alices) }
        await #expect(throws: InvoiceError.notFound) { try await t.services.invoices.detail(userId: alice, invoiceId: draft) }
        await #expect(throws: InvoiceError.notFound) { try await t.services.invoices.detail(userId: alice, invoiceId: "inv_nope") }
        await #expect(throws: InvoiceError.notFound) { try await t.services.invoices.list(CustomerScope(userId: alice, accountId: bakery.id), filter: .init()) }
        // Alice's other account is hers: listed under that scope only.
        let zeta = try await t.services.invoices.upsert(input(other.id, "ZETA-1", due: today))
        let acmeList = try await t.services.invoices.list(CustomerScope(userId: alice, accountId: acme.id), filter: .init(status: .all))
        #expect(acmeList.items.map(\.number) == ["ALICE-1"])
        #expect(try await t.services.invoices.detail(userId: alice, invoiceId: zeta).summary.number == "ZETA-1")
    }

    @Test func listFiltersSortsPagesAndTotalsTheWholeSet() async throws {
        let (t, alice, _, acme, _, _) = try await world()
        let today = CalendarDate(t.clock.date)
        for i in 0..<30 {
            _ = try await t.services.invoices.upsert(input(acme.id, String(format: "A-%03d", i), due: today.adding(days: i - 10),
                                                           currency: i % 3 == 0 ? usd : eur, amount: Int64(1_000 + i)))
        }
        let paid = try await t.services.invoices.upsert(input(acme.id, "PAID-1", due: today, amount: 500))
        try await t.services.ledger.recordSucceeded(.init(accountId: acme.id, invoiceIds: [paid], amount: Money(500, eur)))
        _ = try await t.services.invoices.upsert(input(acme.id, "VOID-1", due: today, status: .void))
        let scope = CustomerScope(userId: alice, accountId: acme.id)

        let open = try await t.services.invoices.list(scope, filter: .init(status: .open))
        #expect(open.totalCount == 30 && open.items.count == 25 && open.pageCount == 2)
        #expect(open.items.first?.number == "A-000") // earliest due first
        #expect(open.totals.map(\.currency.code) == ["EUR", "USD"])
        #expect(open.totals.reduce(0) { $0 + $1.count } == 30)
        var usdTotal: Int64 = 0
        for i in stride(from: 0, to: 30, by: 3) { usdTotal += Int64(1_000 + i) }
        #expect(open.totals.first { $0.currency == usd }?.balance.minorUnits == usdTotal)

        let page2 = try await t.services.invoices.list(scope, filter: .init(status: .open, page: 2))
        #expect(page2.items.count == 5)
        let beyond = try await t.services.invoices.list(scope, filter: .init(status: .open, page: 999))
        #expect(beyond.filter.page == 2 && beyond.items == page2.items)

        let overdue = try await t.services.invoices.list(scope, filter: .init(status: .overdue))
        #expect(overdue.totalCount == 10 && overdue.items.allSatisfy(\.isOverdue))
        #expect(try await t.services.invoices.list(scope, filter: .init(status: .paid)).items.map(\.number) == ["PAID-1"])
        #expect(try await t.services.invoices.list(scope, filter: .init(status: .all)).totalCount == 32)

        let byAmount = try await t.services.invoices.list(scope, filter: .init(status: .open, sort: .amount, descending: true))
        #expect(byAmount.items.first?.number == "A-029")
        let search = try await t.services.invoices.list(scope, filter: .init(status: .all, search: "a-01"))
        #expect(search.items.map(\.number) == (10...19).map { String(format: "A-%03d", $0) })
        let wildcard = try await t.services.invoices.list(scope, filter: .init(status: .all, search: "%"))
        #expect(wildcard.totalCount == 0)
        for literal in ["_", "A\\", "a-0_1"] {
            #expect(try await t.services.invoices.list(scope, filter: .init(status: .all, search: literal)).totalCount == 0, "\(literal)")
        }
        #expect(try await t.services.invoices.list(scope, filter: .init(status: .all, search: " a-02 ")).totalCount == 10)
    }

    @Test func dashboardSummarisesTheActiveAccount() async throws {
        let (t, alice, _, acme, other, _) = try await world()
        let today = CalendarDate(t.clock.date)
        _ = try await t.services.invoices.upsert(input(acme.id, "OLD", due: today.adding(days: -3), amount: 2_000))
        _ = try await t.services.invoices.upsert(input(acme.id, "NEXT", due: today.adding(days: 4), amount: 3_000))
        _ = try await t.services.invoices.upsert(input(acme.id, "LATER", due: today.adding(days: 40), amount: 5_000))
        _ = try await t.services.invoices.upsert(input(other.id, "ELSEWHERE", due: today.adding(days: -3), amount: 99_000))
        let paid = try await t.services.invoices.upsert(input(acme.id, "PAID", due: today, amount: 700))
        try await t.services.ledger.recordSucceeded(.init(accountId: acme.id, invoiceIds: [paid], amount: Money(700, eur)))
        let summary = try await t.services.invoices.dashboard(CustomerScope(userId: alice, accountId: acme.id))
        #expect(summary.balances.map(\.balance.minorUnits) == [10_000])
        #expect(summary.overdueCount == 1 && summary.overdue.first?.balance.minorUnits == 2_000)
        #expect(summary.nextDue?.number == "NEXT")
        #expect(summary.lastPayment?.amount.minorUnits == 700)
    }
}
