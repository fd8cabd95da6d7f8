import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gateways
import Testing
@testable import CreatioSync

@Suite struct CreatioClientTests {
    @Test func formsSignInSendsTheCSRFHeaderWhichIsRequired() async throws {
        try await SyncHarness.run { h in
            await h.account("Acme")
            let accounts = try await h.client().list("Account", ODataQuery(select: ["Id", "Name"]))
            #expect(accounts.map { $0["Name"]?.text } == ["Acme"])

            // The same session cookies without the BPMCSRF header are refused.
            var login = URLRequest(url: h.base.appendingPathComponent("ServiceModel/AuthService.svc/Login"))
            login.httpMethod = "POST"
            login.httpBody = Data(#"{"UserName":"Supervisor","UserPassword":"Supervisor"}"#.utf8)
            let (_, response) = try await URLSession.shared.data(for: login)
            let fields = (response as! HTTPURLResponse).allHeaderFields as! [String: String]
            let cookies = HTTPCookie.cookies(withResponseHeaderFields: fields, for: h.base)
            #expect(Set(cookies.map(\.name)).isSuperset(of: [".ASPXAUTH", "BPMCSRF", "BPMLOADER"]))
            var read = URLRequest(url: h.base.appendingPathComponent("0/odata/Account"))
            read.setValue(cookies.map { "\($0.name)=\($0.value)" }.joined(separator: "; "), forHTTPHeaderField: "Cookie")
            let (_, refused) = try await URLSession.shared.data(for: read)
            #expect((refused as! HTTPURLResponse).statusCode == 403)
            read.setValue(cookies.first { $0.name == "BPMCSRF" }!.value, forHTTPHeaderField: "BPMCSRF")
            let (_, allowed) = try await URLSession.shared.data(for: read)
            #expect((allowed as! HTTPURLResponse).statusCode == 200)
        }
    }

    @Test func wrongPasswordIsASignInFailureWithCreatiosMessage() async throws {
        try await SyncHarness.run { h in
            await #expect(throws: CreatioError.signInFailed("Either username or password is specified incorrectly or the user does not exist.")) {
                try await h.client(.forms(user: "Supervisor", password: "nope")).list("Account", ODataQuery())
            }
        }
    }

    @Test(arguments: [CreatioSimulator.LapsedSession.unauthorized, .redirectToLogin])
    func signsInAgainOnceWhenTheSessionLapses(_ mode: CreatioSimulator.LapsedSession) async throws {
        try await SyncHarness.run { h in
            await h.simulator.setLapsedSession(mode)
            await h.account("Acme")
            let client = h.client()
            _ = try await client.list("Account", ODataQuery())
            await h.simulator.expireSessions()
            let again = try await client.list("Account", ODataQuery())
            #expect(again.count == 1)
            #expect(await client.signInCount == 2)
            #expect(await h.simulator.logins == 2)
        }
    }

    @Test func oauthClientCredentialsGetABearerTokenAndRenewItOnce() async throws {
        try await SyncHarness.run { h in
            await h.simulator.addClient("portal", secret: "s3cret")
            await h.account("Acme")
            let client = h.client(.oauth(tokenURL: h.base.appendingPathComponent("connect/token"), clientId: "portal", secret: "s3cret"),
                                  odataPath: "odata")
            do { let value = try await client.list("Account", ODataQuery()).count; #expect(value == 1) }
            await h.simulator.expireSessions()
            do { let value = try await client.list("Account", ODataQuery()).count; #expect(value == 1) }
            #expect(await client.signInCount == 2)
            let wrong = h.client(.oauth(tokenURL: h.base.appendingPathComponent("connect/token"), clientId: "portal", secret: "guess"))
            await #expect(throws: CreatioError.signInFailed("invalid_client")) { try await wrong.list("Account", ODataQuery()) }
        }
    }

    @Test func odataErrorsCarryCreatiosMessage() async throws {
        try await SyncHarness.run { h in
            await #expect(throws: CreatioError.odata(status: 400, code: "-1",
                                                     message: "Could not find a property named 'Bogus' on type 'Terrasoft.Configuration.OData.Invoice'.")) {
                try await h.client().list("Invoice", ODataQuery(filter: "Bogus eq 1"))
            }
        }
    }

    @Test func pagedFilteredOrderedReads() async throws {
        try await SyncHarness.run { h in
            for n in 1...5 { await h.account("A\(n)") }
            let all = await h.simulator.records("Account")
            let third = try #require(all[2]["ModifiedOn"]?.text)
            let client = h.client()
            let page = try await client.list("Account", ODataQuery(filter: "ModifiedOn ge \(third)", orderBy: ["ModifiedOn", "Id"],
                                                                   top: 2, skip: 1, select: ["Id", "Name", "ModifiedOn"]))
            #expect(page.map { $0["Name"]?.text } == ["A4", "A5"])
            #expect(page[0].members.map(\.key) == ["Id", "ModifiedOn", "Name"])
            let before = try await client.list("Account", ODataQuery(filter: "ModifiedOn lt \(third) and Name ne 'A1'", orderBy: ["Name desc"]))
            #expect(before.map { $0["Name"]?.text } == ["A2"])
        }
    }

    @Test func postsAndPatchesEntities() async throws {
        try await SyncHarness.run { h in
            let client = h.client()
            let created = try await client.post("Account", ["Name": "O'Brien Ltd"])
            let id = try #require(created["Id"]?.text)
            try await client.patch("Account", id: id, ["Name": "O'Brien Limited"])
            let found = try await client.list("Account", ODataQuery(filter: "Name eq \(ODataLiteral.string("O'Brien Limited"))"))
            #expect(found.map { $0["Id"]?.text } == [id])
            await #expect(throws: CreatioError.odata(status: 404, code: "-1", message: "Entity not found.")) {
                try await client.patch("Account", id: UUID().uuidString.lowercased(), ["Name": "x"])
            }
        }
    }

    @Test func aSlowAnswerTimesOut() async throws {
        try await SyncHarness.run { h in
            // Six seconds, not one: signing in on a loaded 2-core machine running tests in parallel must still fit.
            let client = h.client(timeout: 6)
            try await client.signIn()
            await h.simulator.setDelay(.seconds(15))
            await #expect(throws: CreatioError.unavailable("no answer within 6 s")) { try await client.list("Account", ODataQuery()) }
            await h.simulator.setDelay(nil)
        }
    }
}
