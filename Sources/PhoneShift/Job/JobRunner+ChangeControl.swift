import Foundation

extension JobRunner {
    // MARK: - Four-eyes approval

    /// What an approver looks at: the stored plan, its digest and maker, its counts, the rows
    /// the risk checks found something on (first), and the approvals it already has.
    public struct ApprovalReview: Sendable {
        public var plan: PlanInfo
        public var digest: String
        public var madeBy: String?
        public var madeOn: String?
        public var counts: [PlanAction: Int]
        public var changes: Int
        public var held: Int
        public var riskyRows: Int
        /// Rows with risk findings first, then the changes (up to `limit` in all).
        public var rows: [PlanRow]
        public var maskKey: PhoneMask.Key
        public var approvals: [Approval]
        /// What apply would say about the approvals recorded so far.
        public var verdict: ChangeControl.Verdict
        public var applyStarted: Bool
    }

    /// The latest plan, for `approve` and `status`. Throws `badSetting` when there is none, and
    /// when its rows no longer match its digest.
    public func reviewForApproval(limit: Int = 40) async throws -> ApprovalReview {
        let store = try JobStore(path: job.store)
        guard let plan = try await store.latestPlan() else {
            throw PhoneShiftError(.badSetting, "no plan yet for this job; run phoneshift plan \(job.jobFile)")
        }
        let record = try await store.planRecord(plan: plan.id)
        let digest = try await store.currentPlanDigest(plan: plan.id)
        let counts = try await store.actionCounts(plan: plan.id)
        let risky = try await store.riskyRows(plan: plan.id, limit: limit)
        let changes = try await store.rows(plan: plan.id, actions: [.update, .add, .remove, .issuePass], limit: max(0, limit - risky.count))
        let shown = risky + changes.filter { $0.risks.isEmpty }
        let approvals = try await store.approvals(plan: plan.id)
        let risk = try await store.riskCounts(plan: plan.id)
        return ApprovalReview(plan: plan, digest: digest, madeBy: record.madeBy, madeOn: record.madeOn, counts: counts,
                              changes: (counts[.update] ?? 0) + (counts[.add] ?? 0) + (counts[.remove] ?? 0) + (counts[.issuePass] ?? 0),
                              held: risk.held, riskyRows: risk.risky,
                              rows: shown, maskKey: try await store.maskKey(), approvals: approvals,
                              verdict: try await judgeApprovals(store: store, plan: plan.id, record: record, digest: digest, approvals: approvals),
                              applyStarted: try await store.applyStarted(plan: plan.id))
    }

    public struct ApproveOptions: Sendable {
        /// An SSH private key (or a public key whose private half is in ssh-agent) to sign with.
        public var signWith: String?
        public var comment: String?
        public init(signWith: String? = nil, comment: String? = nil) {
            self.signWith = signWith
            self.comment = comment
        }
    }

    /// Records an approval of the reviewed plan by the account running this, signed when asked.
    /// Refuses (`notApproved`, exit 9) an approval that would not count: of a plan whose rows
    /// changed, by the account that made it (unsigned, or signed as that person), or — with
    /// `approval.allowedSigners` — unsigned or signed by a key not in the file.
    public func approve(_ review: ApprovalReview, _ options: ApproveOptions) async throws -> (approval: Approval, approvedBy: String) {
        let store = try JobStore(path: job.store)
        let record = try await store.planRecord(plan: review.plan.id)
        let digest = try await store.currentPlanDigest(plan: review.plan.id)
        guard let recorded = record.hash else {
            throw PhoneShiftError(.notApproved, "plan \(review.plan.id) was made by an older PhoneShift and has no digest; run phoneshift plan again, then approve it")
        }
        guard recorded == digest, digest == review.digest else {
            throw PhoneShiftError(.notApproved, "plan \(review.plan.id) changed since it was shown (its digest differs); nothing was recorded. Review it again")
        }
        if try await store.applyStarted(plan: review.plan.id) {
            throw PhoneShiftError(.notApproved, "plan \(review.plan.id) is already being applied; an approval now would approve nothing. Plan again for a new change")
        }
        let me = OperatorIdentity.current
        let time = JobStore.now()
        let statement = Approval.statement(job: job.name, plan: review.plan.id, planHash: digest, sheetHash: review.plan.sheetHash,
                                           changes: review.changes, held: review.held, account: me.account, host: me.host, time: time,
                                           comment: options.comment)
        var approval = Approval(plan: review.plan.id, planHash: digest, time: time, osAccount: me.account, host: me.host,
                                statement: statement, comment: options.comment)
        if let key = options.signWith {
            approval.signature = try await runOnThread { try SSHSignature.sign(statement, keyPath: key) }
        }
        let verdict = try await judgeApprovals(store: store, plan: review.plan.id, record: record, digest: digest, approvals: [approval])
        guard case .approved(let by, _) = verdict else {
            if case .refused(let reason) = verdict { throw PhoneShiftError(.notApproved, reason + "; nothing was recorded") }
            throw PhoneShiftError(.notApproved, "the approval would not count; nothing was recorded")
        }
        try await store.recordApproval(approval)
        return (approval, by)
    }

    /// Apply and run, under `policy.requireApproval`: the plan must carry a valid approval.
    /// Returns who approved it; throws `notApproved` (exit 9) otherwise. Nothing is written before.
    func checkApproved(_ store: JobStore, plan: PlanInfo) async throws -> String? {
        guard job.policy.requireApproval else { return nil }
        let record = try await store.planRecord(plan: plan.id)
        let digest = try await store.currentPlanDigest(plan: plan.id)
        let verdict = try await judgeApprovals(store: store, plan: plan.id, record: record, digest: digest,
                                               approvals: try await store.approvals(plan: plan.id))
        switch verdict {
        case .approved(let by, let signed):
            try await store.event(run: nil, kind: "approval-checked", detail: "plan \(plan.id) applied under the approval of \(by) (\(signed ? "signed" : "unsigned")), digest \(digest)")
            return by
        case .refused(let reason):
            throw PhoneShiftError(.notApproved, reason)
        }
    }

    /// Verifies each approval's signature (when the job has an allowed-signers file) and judges.
    func judgeApprovals(store: JobStore, plan: Int, record: (hash: String?, madeBy: String?, madeOn: String?), digest: String,
                        approvals: [Approval]) async throws -> ChangeControl.Verdict {
        try await Self.judgeApprovals(plan: plan, record: record, digest: digest, approvals: approvals, allowedSigners: job.allowedSigners)
    }

    static func judgeApprovals(plan: Int, record: (hash: String?, madeBy: String?, madeOn: String?), digest: String,
                               approvals: [Approval], allowedSigners signers: String?) async throws -> ChangeControl.Verdict {
        var candidates: [ChangeControl.Candidate] = []
        for approval in approvals {
            var candidate = ChangeControl.Candidate(approval: approval)
            if let signature = approval.signature, let signers {
                switch try await runOnThread({ try SSHSignature.verify(approval.statement, signature: signature, allowedSigners: signers) }) {
                case .success(let principal): candidate.signer = principal
                case .failure(let problem): candidate.signatureProblem = problem.text
                }
            }
            candidates.append(candidate)
        }
        return ChangeControl.judge(plan: plan, recordedHash: record.hash, currentHash: digest, madeBy: record.madeBy,
                                   candidates: candidates, signaturesRequired: signers != nil)
    }
}

/// A plan's approval state as `status` and the reports show it: who made the plan, the
/// approvals recorded, and what apply would say about them now (signatures verified).
public struct ApprovalState: Sendable {
    /// `policy.requireApproval` is set: apply refuses without an approval.
    public var required: Bool
    public var madeBy: String?
    public var madeOn: String?
    public var approvals: [Approval]
    public var verdict: ChangeControl.Verdict

    /// nil when the job needs no approval and the plan has none (nothing to show).
    public static func load(store: JobStore, plan: Int, job: JobDefinition) async throws -> ApprovalState? {
        let approvals = try await store.approvals(plan: plan)
        guard job.policy.requireApproval || !approvals.isEmpty else { return nil }
        let record = try await store.planRecord(plan: plan)
        let digest = try await store.currentPlanDigest(plan: plan)
        let verdict = try await JobRunner.judgeApprovals(plan: plan, record: record, digest: digest, approvals: approvals,
                                                         allowedSigners: job.allowedSigners)
        return ApprovalState(required: job.policy.requireApproval, madeBy: record.madeBy, madeOn: record.madeOn,
                             approvals: approvals, verdict: verdict)
    }
}

extension ChangeControl.Verdict {
    /// One line for people: "approved by …" or "not approved — why".
    public var line: String {
        switch self {
        case .approved(let by, let signed): "approved by \(by)\(signed ? " (signature verified)" : "")"
        case .refused(let reason): "not approved — \(reason)"
        }
    }
}
