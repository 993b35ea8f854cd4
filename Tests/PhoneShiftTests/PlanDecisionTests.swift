import Foundation
import Testing
@testable import PhoneShift

/// One row of a decision table: what the sheet asks, what Graph has, what the job says, and
/// what the plan must decide.
struct DecisionCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// `mode: removePhones` (the sheet names users only: no target).
    var remove = false
    var phoneType: PhoneType = .mobile
    /// The sheet's number (nil: a blank cell under blankRemovesNumber).
    var target: String? = "+1 2065550199"
    var phones: [PhoneType: String] = [.mobile: "+1 2065550100"]
    var smsSignIn: [PhoneType: String] = [:]
    /// Other MFA methods' types (nil: not read).
    var others: [String]? = ["passwordAuthenticationMethod", "microsoftAuthenticatorAuthenticationMethod"]
    var roles: [String] = []
    var units: [String]? = nil
    var delta = false
    var known: String?? = nil
    var policy: @Sendable (inout JobDefinition.Policy) -> Void = { _ in }
    // Expected.
    let action: PlanAction
    var state: RowState? = nil
    var outcome: PlanRow.Outcome? = nil
    var errorCode: String? = nil
    var reason: String? = nil
    var noReason: String? = nil
    var flags: Set<RowFlag> = []
    var testDescription: String { name }

    static let userId = "0b6a2f4e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"

    func run() -> PlanRow {
        var row = PlanRow(line: 7, user: "ada@contoso.com", userId: Self.userId, phoneType: phoneType, target: remove ? nil : target, action: .toRead)
        if let known { row.known = KnownNumber(value: known, source: "applied", at: "2026-11-30T02:00:00Z") }
        var rulesPolicy = JobDefinition.Policy()
        policy(&rulesPolicy)
        let rules = Planner.Rules(privileged: roles.isEmpty ? [:] : [Self.userId: roles],
                                  restricted: units.map { [Self.userId: $0] } ?? [:],
                                  allowPrivileged: rulesPolicy.allowPrivileged, policy: rulesPolicy, delta: delta, clientId: "app",
                                  removePhones: remove)
        return Planner.decide(row, live: LiveMethods(phones: phones, smsSignIn: smsSignIn, others: others), rules: rules)
    }

    static let table: [DecisionCase] = [
        // The plain cases.
        DecisionCase(name: "a different number: update", action: .update, state: .pending, noReason: "besides phones"),
        DecisionCase(name: "no number of the type: add", phones: [:], action: .add, state: .pending),
        DecisionCase(name: "the same number, spaced and cased otherwise: unchanged", target: "+1 206 555 0100", action: .unchanged, state: .done, outcome: .unchanged),
        // Admins.
        DecisionCase(name: "a directory role holder: blocked, the roles named", roles: ["Global Administrator"], action: .blocked, state: .done,
                     outcome: .blocked, reason: "privileged account (Global Administrator)"),
        DecisionCase(name: "four roles: three named, then …", roles: ["A", "B", "C", "D"], action: .blocked, reason: "(A, B, C, …)"),
        DecisionCase(name: "an admin whose number is already the target: still blocked (never shown as fine)", target: "+1 2065550100",
                     roles: ["User Administrator"], action: .blocked),
        DecisionCase(name: "an admin under policy.allowPrivileged: update", roles: ["Global Administrator"], policy: { $0.allowPrivileged = true }, action: .update),
        // Restricted management administrative units.
        DecisionCase(name: "a user in a restricted management unit: blocked with its code", units: ["Executives"], action: .blocked,
                     errorCode: GraphReader.restrictedCode, reason: "Executives"),
        DecisionCase(name: "a user in a restricted unit who has the number already: unchanged", target: "+1 2065550100", units: ["Executives"], action: .unchanged),
        // onlySetWhenEmpty.
        DecisionCase(name: "onlySetWhenEmpty and a number there: kept", policy: { $0.onlySetWhenEmpty = true }, action: .skipped, state: .done,
                     outcome: .kept, reason: "policy.onlySetWhenEmpty"),
        DecisionCase(name: "onlySetWhenEmpty and no number: add", phones: [:], policy: { $0.onlySetWhenEmpty = true }, action: .add),
        // blankRemovesNumber (the sheet row reaches decide with no target only under it).
        DecisionCase(name: "a blank cell and a number in Graph: remove", target: nil, action: .remove, state: .pending, reason: "blankRemovesNumber is on"),
        DecisionCase(name: "a blank cell and no number in Graph: unchanged", target: nil, phones: [:], action: .unchanged),
        // The backup method.
        DecisionCase(name: "phones only, requireBackupMethod, a change: blocked", others: ["passwordAuthenticationMethod", "emailAuthenticationMethod"],
                     policy: { $0.requireBackupMethod = true }, action: .blocked, reason: "phones are the user's only MFA methods", flags: [.phonesOnly]),
        DecisionCase(name: "phones only, requireBackupMethod, a removal: blocked", target: nil, others: ["passwordAuthenticationMethod"],
                     policy: { $0.requireBackupMethod = true }, action: .blocked, flags: [.phonesOnly]),
        DecisionCase(name: "phones only, requireBackupMethod, a first phone: added (it cannot lock anyone out)", phones: [:],
                     others: ["passwordAuthenticationMethod"], policy: { $0.requireBackupMethod = true }, action: .add, flags: [.phonesOnly]),
        DecisionCase(name: "phones only, no policy: update, flagged for the helpdesk", others: ["passwordAuthenticationMethod"], action: .update,
                     reason: "no MFA method besides phones", flags: [.phonesOnly]),
        DecisionCase(name: "Authenticator registered, requireBackupMethod: update", policy: { $0.requireBackupMethod = true }, action: .update),
        DecisionCase(name: "other methods not read: no claim either way", others: nil, policy: { $0.requireBackupMethod = true }, action: .update),
        // changedElsewhere (delta).
        DecisionCase(name: "delta, the sheet still has what PhoneShift applied, Graph another: kept", target: "+1 2065550177", delta: true,
                     known: "+1 2065550177", action: .skipped, outcome: .changedElsewhere, errorCode: "changed-elsewhere",
                     reason: "since 2026-11-30T02:00:00Z"),
        DecisionCase(name: "the same under changedElsewhere: restore: update", target: "+1 2065550177", delta: true, known: "+1 2065550177",
                     policy: { $0.changedElsewhere = .restore }, action: .update, reason: "restored"),
        DecisionCase(name: "delta, the sheet has a new number: update", delta: true, known: "+1 2065550100", action: .update, noReason: "outside PhoneShift"),
        DecisionCase(name: "not a delta job: what the store knew is not used", target: "+1 2065550177", known: "+1 2065550177", action: .update),
        // Alternate mobile.
        DecisionCase(name: "an alternate mobile for a user without a mobile: blocked", phoneType: .alternateMobile, phones: [:], action: .blocked,
                     reason: "needs a mobile number first"),
        DecisionCase(name: "an alternate mobile beside a mobile: add", phoneType: .alternateMobile, action: .add),
        // SMS sign-in.
        DecisionCase(name: "SMS sign-in ready: the sign-in number changes too", smsSignIn: [.mobile: "ready"], action: .update,
                     reason: "signs in by SMS"),
        DecisionCase(name: "SMS sign-in notSupported: nothing said", smsSignIn: [.mobile: "notSupported"], action: .update, noReason: "SMS"),
        DecisionCase(name: "SMS sign-in on an added mobile: nothing to say (no sign-in number yet)", phones: [:], smsSignIn: [.mobile: "ready"], action: .add,
                     noReason: "SMS"),
        DecisionCase(name: "an office phone: SMS sign-in is not its business", phoneType: .office, phones: [.office: "+1 2065550100"],
                     smsSignIn: [.mobile: "ready"], action: .update, noReason: "SMS"),
        // mode: removePhones — only where a phishing-resistant method stays.
        DecisionCase(name: "removePhones: a FIDO2 key stays, so the mobile goes", remove: true,
                     others: ["passwordAuthenticationMethod", "fido2AuthenticationMethod"], action: .remove, state: .pending,
                     reason: "passkey/FIDO2: the mobile phone number is removed"),
        DecisionCase(name: "removePhones: Windows Hello for Business counts; SMS sign-in goes with the number", remove: true, smsSignIn: [.mobile: "ready"],
                     others: ["windowsHelloForBusinessAuthenticationMethod"], action: .remove, reason: "signs in by SMS with this number"),
        DecisionCase(name: "removePhones: Authenticator alone is not phishing-resistant: blocked", remove: true,
                     action: .blocked, reason: "no phishing-resistant method"),
        DecisionCase(name: "removePhones: phones only: blocked", remove: true, others: ["passwordAuthenticationMethod"],
                     action: .blocked, reason: "register a passkey first"),
        DecisionCase(name: "removePhones: other methods not read: blocked, never guessed", remove: true, others: nil,
                     action: .blocked, reason: "no phishing-resistant method"),
        DecisionCase(name: "removePhones: a mobile while an alternate mobile exists: blocked as Graph would refuse", remove: true,
                     phones: [.mobile: "+1 2065550100", .alternateMobile: "+1 2065550101"], others: ["fido2AuthenticationMethod"],
                     action: .blocked, reason: "remove the alternate mobile first"),
        DecisionCase(name: "removePhones: the alternate mobile itself goes", remove: true, phoneType: .alternateMobile,
                     phones: [.mobile: "+1 2065550100", .alternateMobile: "+1 2065550101"], others: ["fido2AuthenticationMethod"],
                     action: .remove),
        DecisionCase(name: "removePhones: no number of the type: unchanged", remove: true, phoneType: .office,
                     others: ["fido2AuthenticationMethod"], action: .unchanged, reason: "no office phone number to remove"),
        DecisionCase(name: "removePhones: an admin is never touched without allowPrivileged", remove: true, others: ["fido2AuthenticationMethod"],
                     roles: ["Global Administrator"], action: .blocked, reason: "privileged account"),
        DecisionCase(name: "removePhones: a user in a restricted administrative unit: blocked with the code", remove: true,
                     others: ["fido2AuthenticationMethod"], units: ["Executives"], action: .blocked, errorCode: GraphReader.restrictedCode),
    ]
}

@Suite("Plan decisions as a table (pure: no Graph, no store)")
struct PlanDecisionTests {
    @Test("Every policy decides a row as the README says", arguments: DecisionCase.table)
    func decide(_ c: DecisionCase) {
        let row = c.run()
        #expect(row.action == c.action, "\(row.reason)")
        if let state = c.state { #expect(row.state == state) }
        if !c.action.writes { #expect(row.state == .done, "a row with nothing to write is settled at plan time") }
        if let outcome = c.outcome { #expect(row.outcome == outcome) }
        if let code = c.errorCode { #expect(row.errorCode == code) }
        if let reason = c.reason { #expect(row.reason.contains(reason), "\(row.reason)") }
        if let absent = c.noReason { #expect(!row.reason.contains(absent), "\(row.reason)") }
        #expect(row.flags == c.flags)
        // What Graph had is kept as the row's before value (rollback and verify need it).
        #expect(row.before == c.phones[c.phoneType])
        if c.phoneType == .mobile { #expect(row.smsSignIn == c.smsSignIn[.mobile]) } else { #expect(row.smsSignIn == nil) }
    }

    /// What the sheet alone settles, before any read.
    struct SheetCase: Sendable, CustomTestStringConvertible {
        let name: String
        var status: RowStatus = .ok
        var phone: String? = "+1 2065550199"
        var codes: [String] = []
        var blankRemoves = false
        let action: PlanAction
        var testDescription: String { name }
    }

    @Test("The sheet alone settles invalid, conflicting, blank and duplicate rows; the rest are read", arguments: [
        SheetCase(name: "a good row is read", action: .toRead),
        SheetCase(name: "a warning is still read", status: .warning, action: .toRead),
        SheetCase(name: "an invalid row", status: .invalid, phone: nil, action: .invalid),
        SheetCase(name: "one user with two numbers in the sheet", status: .conflict, action: .invalid),
        SheetCase(name: "a blank cell removes nothing by default", phone: nil, action: .skipped),
        SheetCase(name: "a blank cell under blankRemovesNumber is read", phone: nil, blankRemoves: true, action: .toRead),
        SheetCase(name: "the same change twice: the second is skipped", codes: [RowFinding.Code.duplicateRow.rawValue], action: .skipped),
    ])
    func sheetRow(_ c: SheetCase) {
        let outcome = RowOutcome(line: 3, user: "ada@contoso.com", userKind: .userPrincipalName, userKey: "ada@contoso.com", input: c.phone ?? "",
                                 phone: c.phone, numberKind: nil, status: c.status, codes: c.codes, reasons: [])
        let row = Planner.sheetRow(outcome, phoneType: .mobile, blankRemoves: c.blankRemoves)
        #expect(row.action == c.action)
        #expect(row.state == (c.action == .toRead ? .pending : .done))
    }

    @Test("Before a write, the live number says where the row stands: the target (landed), the plan's before value (write it), anything else (moved)",
          arguments: [
            ("+1 2065550199", Executor.Standing.landed), ("+1 206 555 0199", .landed), ("+1 2065550100", .stillBefore),
            ("+1 2065550111", .moved), (nil, .moved),
          ] as [(String?, Executor.Standing)])
    func standing(_ live: String?, _ expected: Executor.Standing) {
        let row = PlanRow(line: 2, user: "u", phoneType: .mobile, before: "+1 2065550100", target: "+1 2065550199", action: .update)
        #expect(Executor.standing(live, of: row, target: row.target) == expected)
    }

    @Test("A removal: gone is landed, the old number still there is to write", arguments: [
        (nil, Executor.Standing.landed), ("+1 2065550100", .stillBefore), ("+1 2065550111", .moved),
    ] as [(String?, Executor.Standing)])
    func standingOfRemoval(_ live: String?, _ expected: Executor.Standing) {
        let row = PlanRow(line: 2, user: "u", phoneType: .mobile, before: "+1 2065550100", target: nil, action: .remove)
        #expect(Executor.standing(live, of: row, target: nil) == expected)
    }
}
