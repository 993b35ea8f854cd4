/// Every place where Microsoft's documentation is silent and the emulator had to choose.
/// GRAPH.md marks these "(our choice)"; keep them here, in one spot, so that they are easy
/// to find and revisit when the real service is observed to differ.
public enum OurChoices {
    /// Error code for a malformed phone number, a duplicate phone type, an alternateMobile
    /// without a mobile, a change of type, and a delete the rules forbid.
    public static let badRequestCode = "badRequest"

    /// Error code for a phone method id the user does not have.
    public static let unknownMethodCode = "itemNotFound"

    /// Compact E.164 (`+12065550100`) is reported to be accepted by the live service: we
    /// accept it and store the documented spaced form (`+1 2065550100`), as Graph returns.
    public static let acceptsCompactE164 = true

    /// Error code for an unsupported `$filter` (Graph's wording varies by workload).
    public static let unsupportedQueryCode = "Request_UnsupportedQuery"

    /// Largest `$top` accepted on `/users` (Graph documents 999).
    public static let maxPageSize = 999
    public static let defaultPageSize = 100

    /// A 503 fault carries this `Retry-After` (seconds) unless the fault settings say otherwise.
    public static let defaultServiceUnavailableRetryAfter = 1.0

    /// Throttled requests still count against the quota (documented); how far a bucket may
    /// go into debt is not documented: we let it go one full capacity below empty.
    public static let maxDebtInCapacities = 1.0

    /// The default method of a user whose seed names none: `mobile` when present.
    public static let defaultMethodWhenUnset = "mobile"

    /// Token lifetime in seconds (documented default for client credentials).
    public static let defaultTokenLifetime = 3599.0
}
