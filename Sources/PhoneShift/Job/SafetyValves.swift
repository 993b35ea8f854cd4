import Foundation

/// The job's safety valves against a broken export (`valves:` in the job file). A valve that
/// trips stops the command before anything is written, with one line naming the valve and
/// the numbers (exit 5); `--accept-valves` lets one run go on after a person has checked.
public struct SafetyValves: Sendable {
    public let valves: JobDefinition.Valves
    /// Trip, but go on (told as a notice): the person checked the plan.
    public let accepted: Bool
    let notice: @Sendable (String) -> Void

    public init(_ valves: JobDefinition.Valves, accepted: Bool, notice: @escaping @Sendable (String) -> Void = { _ in }) {
        self.valves = valves
        self.accepted = accepted
        self.notice = notice
    }

    /// Meta keys of the last successful apply or run: its sheet's row count, time and plan.
    static let lastGoodRowsKey = "valves_last_good_rows"
    static let lastGoodAtKey = "valves_last_good_at"
    static let lastGoodPlanKey = "valves_last_good_plan"

    /// Records a successful apply or run: the base of the shrink valve and of the users who
    /// vanished from the next export.
    static func recordSuccess(store: JobStore, plan: PlanInfo) async throws {
        try await store.setMeta(lastGoodRowsKey, String(plan.rows))
        try await store.setMeta(lastGoodAtKey, JobStore.now())
        try await store.setMeta(lastGoodPlanKey, String(plan.id))
    }

    /// The valves on the sheet alone: most numbers blank or invalid; far fewer rows than at
    /// the last successful run. Returns the names of tripped valves that were accepted.
    func checkSheet(rows: Int, blankOrInvalid: Int, previousRows: Int?, previousWhen: String?) throws -> [String] {
        var tripped: [(String, String)] = []
        if let limit = valves.maxBlankOrInvalidPercent, rows > 0 {
            let share = 100 * Double(blankOrInvalid) / Double(rows)
            if share > limit {
                tripped.append(("valves.maxBlankOrInvalidPercent",
                                "\(blankOrInvalid) of \(rows) numbers in the sheet (\(Self.percent(share))) are blank or invalid, more than \(Self.percent(limit))"))
            }
        }
        if let limit = valves.maxShrinkPercent, let previousRows, previousRows > 0, rows < previousRows {
            let shrink = 100 * Double(previousRows - rows) / Double(previousRows)
            if shrink > limit {
                tripped.append(("valves.maxShrinkPercent",
                                "the sheet has \(rows) rows, \(Self.percent(shrink)) fewer than the \(previousRows) of the last successful run\(previousWhen.map { " (\($0))" } ?? ""), more than \(Self.percent(limit))"))
            }
        }
        return try settle(tripped)
    }

    /// The valves on the plan: more changes than `maxChanges`, or than `maxChangePercent` of
    /// the sheet's rows; more rows with risk findings than `maxRiskyRows`.
    func checkChanges(changes: Int, rows: Int, riskyRows: Int = 0) throws -> [String] {
        var tripped: [(String, String)] = []
        if let max = valves.maxRiskyRows, riskyRows > max {
            tripped.append(("valves.maxRiskyRows", "the takeover guard found something on \(riskyRows) rows, more than \(max) (a poisoned sheet?)"))
        }
        if let max = valves.maxChanges, changes > max {
            tripped.append(("valves.maxChanges", "the plan has \(changes) changes, more than \(max)"))
        }
        if let limit = valves.maxChangePercent, rows > 0 {
            let share = 100 * Double(changes) / Double(rows)
            if share > limit {
                tripped.append(("valves.maxChangePercent", "\(changes) of \(rows) rows (\(Self.percent(share))) would change, more than \(Self.percent(limit))"))
            }
        }
        return try settle(tripped)
    }

    private func settle(_ tripped: [(name: String, text: String)]) throws -> [String] {
        guard !tripped.isEmpty else { return [] }
        if accepted {
            for t in tripped { notice("safety valve \(t.name) tripped and was accepted for this run (--accept-valves): \(t.text)") }
            return tripped.map(\.name)
        }
        let text = tripped.map { "\($0.name): \($0.text)" }.joined(separator: "; ")
        throw PhoneShiftError(.safetyValve, "stopped by safety valve \(text); nothing was written. A broken export? Check the sheet; if it is right, run again with --accept-valves, or change the valve in the job file")
    }

    static func percent(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) %" : String(format: "%.1f %%", value)
    }
}
