/// Every place where Microsoft's documentation is silent and the emulator had to choose.
/// GRAPH.md marks these "(our choice)"; keep them here, in one spot, so that they are easy
/// to find and revisit when the real service is observed to differ.
public enum OurChoices {
    /// Audit entries for method changes: documented that Graph logs them (Microsoft Entra audit
    /// log categories and activities, learn.microsoft.com/entra/identity/monitoring-health/
    /// reference-audit-activities: UserManagement, "Admin registered / updated / deleted
    /// security info"); how long they take to appear is not (the portal says minutes). Our
    /// choice: at once, with the app as `initiatedBy.app` and this display name.
    public static let callingAppDisplayName = "PhoneShift"
    /// The service name of those entries: "Authentication Methods", as Sentinel's and Sigma's
    /// rules filter on (`LoggedByService`); the directoryAudit page lists loggedByService as
    /// filterable (eq) without naming this value.
    public static let auditLoggedByService = "Authentication Methods"
    /// riskyUsers on a tenant without Entra ID P2: the riskyuser-list page does not document
    /// the answer. Our choice: the list answers as on any tenant (the client treats any refusal
    /// as "check skipped").
    public static let riskyUsersWithoutP2Answers = true

    /// Error code for a malformed phone number, a duplicate phone type, an alternateMobile
    /// without a mobile, a change of type, and a delete the rules forbid.
    public static let badRequestCode = "badRequest"

    /// PIM reads (role eligibility schedules and instances, PIM for Groups) on a tenant without
    /// Microsoft Entra ID P2 or Governance. Not on the API pages; the answer is the one field
    /// reports show (maester365/maester issue 1421, as quoted in GRAPH.md "Errors"): 400 with
    /// this code and message. Our choice: the permission is checked first (a 403 wins), and
    /// role assignments and definitions (no PIM licence needed) answer as usual.
    public static let premiumLicenseCode = "AadPremiumLicenseRequired"
    public static let premiumLicenseMessage = "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."

    /// `GET /reports/authenticationMethods/userRegistrationDetails` on a tenant without
    /// Microsoft Entra ID P1 or P2. Documented: the reports need that licence
    /// (learn.microsoft.com/graph/api/resources/authenticationmethods-usage-insights-overview,
    /// "Licenses"); the answer is not. Our choice: 403 with the code and message Graph gives
    /// the other Entra reports (sign-in logs) on such tenants, after the permission check.
    public static let reportsLicenseCode = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    public static let reportsLicenseMessage = "Neither tenant is B2C or tenant doesn't have premium license"
    /// Its page size: the list page supports only `$filter` and `$orderby` (no `$top`), and the
    /// size of a page is not documented. Our choice: 500, with `@odata.nextLink` as elsewhere.
    public static let registrationDetailsPageSize = 500
    /// What `methodsRegistered` says for each method the emulator models. The list's values are
    /// documented by example (userregistrationdetails.md: `mobilePhone`, `email`, `fido2`…;
    /// userRegistrationMethodSummary's enumeration names `passKeyDeviceBound`,
    /// `windowsHelloForBusiness`, `softwareOneTimePasscode`, `temporaryAccessPass`…). Our
    /// choice: a FIDO2 security key reports as `passKeyDeviceBound` (current portal wording),
    /// a password is not listed, and `isAdmin` is true for a user holding an active directory
    /// role (eligible-only roles are not counted).
    public static let registeredMethodNames: [String: String] = [
        "microsoftAuthenticator": "microsoftAuthenticatorPush", "softwareOath": "softwareOneTimePasscode",
        "hardwareOath": "hardwareOneTimePasscode", "fido2": "passKeyDeviceBound",
        "windowsHelloForBusiness": "windowsHelloForBusiness", "platformCredential": "macOsSecureEnclaveKey",
        "temporaryAccessPass": "temporaryAccessPass", "email": "email",
    ]

    /// Temporary Access Passes issued through `POST …/temporaryAccessPassMethods`: 12 characters
    /// (Graph's length comes from the tenant's TAP policy, 8 to 48; our choice), lifetime 10 to
    /// 43,200 minutes as the TAP policy allows (temporaryaccesspassauthenticationmethodconfiguration:
    /// minimumLifetimeInMinutes / maximumLifetimeInMinutes bounds), default 60, one-time by default.
    /// A lifetime outside the range answers 400 with `badRequest` (the message is our choice).
    public static let temporaryAccessPassLength = 12
    public static let temporaryAccessPassLifetimes = 10...43_200

    /// `GET /directoryObjects/{id}` for an application: Directory.Read.All, with no higher
    /// permission listed (microsoft-graph-docs, includes/permissions/directoryobject-get-permissions.md).
    /// Documented, kept here beside the choice that needs it: how often Graph returns a role
    /// assignment without its expanded principal is not documented (`expandsRolePrincipals`).
    public static let readDirectoryObjectPermissions = ["Directory.Read.All"]

    /// Error code for a phone method id the user does not have.
    public static let unknownMethodCode = "itemNotFound"

    /// Compact E.164 (`+12065550100`) is reported to be accepted by the live service: we
    /// accept it and store the documented spaced form (`+1 2065550100`), as Graph returns.
    public static let acceptsCompactE164 = true

    /// Error code for an unsupported `$filter` (Graph's wording varies by workload).
    public static let unsupportedQueryCode = "Request_UnsupportedQuery"

    /// Largest `$top` accepted on `/users` (Graph documents 999). The same page sizes serve
    /// role assignments, eligibilities, role definitions and group members, whose own page
    /// sizes the documentation does not give.
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

    // Application permissions per endpoint follow each API's permissions table
    // (EmulatorState.Permissions). Two corrections against the first emulator:
    // `/directoryRoles` needs RoleManagement.Read.Directory or Directory.Read.All (not
    // User.Read.All), and the phone-only UserAuthMethod-Phone.Read(Write).All reads (and
    // writes) `/phoneMethods` but not `/authentication/methods` (learn.microsoft.com/graph/api/
    // phoneauthenticationmethod-get, -update; authentication-list-methods). Group members:
    // GroupMember.Read.All (group-list-transitivemembers).

    /// Items an `$expand` returns on directory objects, with no `@odata.nextLink` for the
    /// rest. Documented as 20 on the query-parameters page
    /// (learn.microsoft.com/graph/query-parameters, "$expand") and as 100 in Graph known
    /// issue 13635; we use the smaller, so that tests cross it.
    public static let expandLimit = 20

    /// Error code for a user key Graph cannot read as an object id (e.g. braces around a
    /// GUID): the documentation gives none; `Request_BadRequest`, as other directory 400s.
    public static let invalidIdentifierCode = "Request_BadRequest"

    /// `GET /users/{id}` "returns 202 Accepted when the request has been processed
    /// successfully but the server requires more time to complete related background
    /// operations" (learn.microsoft.com/graph/api/user-get). The body is not documented: the
    /// emulator sends none, for the users its seed marks (`acceptedReads`).
    public static let acceptedUserReadHasBody = false

    /// `/authentication/methods` is marked unavailable in China (21Vianet) on
    /// learn.microsoft.com/graph/api/authentication-list-methods; how the service refuses it
    /// is not documented: we answer 400 BadRequest "Resource not found for the segment".
    public static let chinaMethodsListCode = "BadRequest"

    /// A write whose new mobile another user signs in by SMS with answers as any write (204 for
    /// PATCH, 201 for POST) and the method's `smsSignInState` becomes `phoneNumberNotUnique`
    /// (resources/phoneauthenticationmethod.md lists it as a state; no error is documented).
    /// The 409 practitioners report is the `notUniqueAnswers409` fault. A re-read can lag. How long is not documented: set by the `replicationLagSeconds` fault
    /// (0 by default).
    public static let defaultReplicationLagSeconds = 0.0

    /// SMS sign-in: a user counts as enabled by policy when the seed says so, or when their
    /// mobile is already `ready` for SMS sign-in (phoneauthenticationmethod-update: "If a user
    /// is enabled by policy to use SMS to sign in and the mobile number is changed, the system
    /// will attempt to register the number for use in that system").
    public static let smsSignInEnabledWhenReady = true

    /// Client assertions (learn.microsoft.com/entra/identity-platform/certificate-credentials):
    /// the documented errors are AADSTS700027 (signature, or a key not registered: "The key
    /// was not found"), AADSTS700024 (not within its valid time range) and AADSTS700021
    /// (issuer/subject not the client id). A wrong `aud` and a replayed `jti` have no code we
    /// could find documented: we answer both as 700027, invalid_client.
    public static let assertionAudienceError = 700027
    public static let assertionReplayError = 700027
    /// Which thumbprint names the key: the certificate-credentials page documents PS256 with
    /// `x5t#S256`; RS256 assertions naming the key by `x5t#S256` are refused AADSTS700027 "The
    /// certificate with identifier used to sign the client assertion is not registered on
    /// application" while `x5t` (base64url SHA-1) works (MicrosoftDocs/entra-docs PR 1301).
    /// Our choice for the pairing the pages do not spell out: PS256 takes only `x5t#S256`,
    /// RS256 only `x5t`; anything else is that 700027.
    public static let assertionThumbprintPairing = true
    /// Clock skew allowed on `nbf` and `exp` (not documented; 5 minutes, as common).
    public static let assertionClockSkew = 300.0

    /// An injected 429 (`errorRates["429"]`) carries no `Retry-After`. Microsoft says the
    /// header "is not always included in a response. If no Retry-After header is provided by
    /// the response, we recommend implementing an exponential backoff retry policy"
    /// (learn.microsoft.com/answers/questions/922050, pointing at learn.microsoft.com/graph/throttling).
    /// The emulator's own quota 429s keep their Retry-After; this fault is the other kind.
    public static let injected429HasRetryAfter = false

    /// A write to a member of a restricted management administrative unit. The page
    /// (learn.microsoft.com/entra/identity/role-based-access-control/admin-units-restricted-management)
    /// says application permissions "won't apply"; the answer is not documented. Our choice:
    /// the same 403 `accessDenied` "Request Authorization failed" as a missing permission, so
    /// that a client can only tell the two apart by asking Graph something else. Reads of the
    /// user are not restricted. Only direct user members are protected (a group in such a
    /// unit protects the group object, not its members).
    public static let restrictedWriteLikeMissingPermission = true

    /// `isMemberManagementRestricted` is listed on administrativeUnit without `$filter`
    /// support (resources/administrativeunit): the emulator refuses a `$filter` on it with
    /// `unsupportedQueryCode`, so a client lists the units and looks at the property.
    public static let filtersOnRestricted = false

    /// PIM for Groups eligibility schedules need a `$filter` on `groupId` or `principalId`
    /// (privilegedaccessgroup-list-eligibilityschedules: "This method requires the $filter (eq)
    /// query parameter to scope the request to a principalId or a groupId"). Without one, our
    /// choice of answer: 400 `BadRequest` with this message (the page gives none). The
    /// permission (PrivilegedEligibilitySchedule.Read.AzureADGroup) is checked first, then the
    /// licence (`premiumLicenseCode`), then the filter.
    public static let groupEligibilityFilterMessage = "The request must be filtered by groupId or principalId."

    /// A throttled token request (the `tokenThrottledRequests` fault): the identity platform
    /// documents 429 with `Retry-After` for throttling in general (learn.microsoft.com/entra/
    /// identity-platform/reference-error-codes lists no AADSTS code we could pin to it). Our
    /// choice: 429, `Retry-After: 1`, OAuth error `temporarily_unavailable`, no `error_codes`.
    public static let tokenThrottled = true
}
