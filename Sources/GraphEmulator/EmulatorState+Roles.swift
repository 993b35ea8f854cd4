import Foundation

/// Directory roles as Graph exposes them: the legacy `/directoryRoles` (activated roles only,
/// `$expand=members` capped without a next link), the unified role-management API (active
/// assignments, PIM eligibilities, role definitions; paged), and group membership.
extension EmulatorState {
    func directoryCall(segments: [String], params: [String: String], base: String, context: CallContext) -> CallResult {
        switch segments {
        case ["directoryRoles"]:
            guard hasPermission(Permissions.readDirectoryRoles) else { return directoryDenied(context) }
            return CallResult(response: directoryRoles(expandMembers: params["$expand"]?.hasPrefix("members") == true, base: base))
        case ["roleManagement", "directory", "roleAssignments"]:
            guard hasPermission(Permissions.readRoleAssignments) else { return directoryDenied(context) }
            return page(tenant.grants.filter { !$0.eligible }.map { grantJSON($0, expandPrincipal: expandsPrincipal(params)) },
                        path: "roleManagement/directory/roleAssignments", context: "roleManagement/directory/roleAssignments",
                        params: params, base: base, call: context)
        case ["roleManagement", "directory", "roleEligibilitySchedules"],
             ["roleManagement", "directory", "roleEligibilityScheduleInstances"]:
            guard hasPermission(Permissions.readRoleEligibility) else { return directoryDenied(context) }
            if let refused = premiumLicenseRequired(context) { return refused }
            let name = segments[2]
            return page(tenant.grants.filter(\.eligible).map { grantJSON($0, expandPrincipal: expandsPrincipal(params), schedule: true) },
                        path: "roleManagement/directory/\(name)", context: "roleManagement/directory/\(name)",
                        params: params, base: base, call: context)
        case ["roleManagement", "directory", "roleDefinitions"]:
            guard hasPermission(Permissions.readRoleAssignments) else { return directoryDenied(context) }
            var names = Set(DirectoryRoles.templates.keys)
            for grant in tenant.grants { names.insert(grant.role) }
            return page(names.sorted().map(roleDefinitionJSON), path: "roleManagement/directory/roleDefinitions",
                        context: "roleManagement/directory/roleDefinitions", params: params, base: base, call: context)
        case ["identityGovernance", "privilegedAccess", "group", "eligibilitySchedules"]:
            guard hasPermission(Permissions.readGroupEligibility) else { return directoryDenied(context) }
            if let refused = premiumLicenseRequired(context) { return refused }
            let filter = params["$filter"] ?? ""
            let groupId = Self.filterValue(filter, property: "groupId"), principalId = Self.filterValue(filter, property: "principalId")
            guard groupId != nil || principalId != nil else {
                return CallResult(response: error(400, "BadRequest", OurChoices.groupEligibilityFilterMessage, context: context))
            }
            let items = tenant.groupEligibilities.filter { e in
                (groupId.map { $0.lowercased() == e.groupId } ?? true) && (principalId.map { $0.lowercased() == e.principalId } ?? true)
            }
            let expand = expandsPrincipal(params)
            return page(items.map { e in
                var pairs: [(String, JSON)] = [
                    ("id", .string(e.id)), ("accessId", .string(e.accessId)), ("groupId", .string(e.groupId)),
                    ("principalId", .string(e.principalId)), ("memberType", .string("direct")), ("status", .string("Provisioned")),
                    ("createdUsing", .string(e.id)), ("createdDateTime", .string("2024-03-14T09:26:53Z")),
                    ("scheduleInfo", .object([("startDateTime", .string("2024-03-14T09:26:53Z")),
                                              ("expiration", .object([("type", .string("noExpiration"))]))])),
                ]
                if expand { pairs.append(("principal", principalJSON(e.principalId) ?? .null)) }
                return .object(pairs)
            }, path: "identityGovernance/privilegedAccess/group/eligibilitySchedules",
               context: "identityGovernance/privilegedAccess/group/eligibilitySchedules", params: params, base: base, call: context)
        case ["directory", "administrativeUnits"]:
            guard hasPermission(Permissions.readAdministrativeUnits) else { return directoryDenied(context) }
            if let filter = params["$filter"], filter.contains("isMemberManagementRestricted"), !OurChoices.filtersOnRestricted {
                return CallResult(response: error(400, OurChoices.unsupportedQueryCode, "Unsupported or invalid query filter clause specified for property 'isMemberManagementRestricted' of resource 'AdministrativeUnit'.", context: context))
            }
            return page(tenant.administrativeUnits.map { a in
                .object([("id", .string(a.id)), ("displayName", .string(a.displayName)), ("description", .null),
                         ("isMemberManagementRestricted", a.isMemberManagementRestricted ? .bool(true) : .null), ("visibility", .null)])
            }, path: "directory/administrativeUnits", context: "directory/administrativeUnits", params: params, base: base, call: context)
        default:
            break
        }
        if segments.count == 4, segments[0] == "directory", segments[1] == "administrativeUnits", segments[3] == "members" {
            guard hasPermission(Permissions.readAdministrativeUnits) else { return directoryDenied(context) }
            guard let unit = tenant.administrativeUnits.first(where: { $0.id == segments[2].lowercased() }) else {
                return CallResult(response: error(404, "Request_ResourceNotFound",
                    "Resource '\(segments[2])' does not exist or one of its queried reference-property objects are not present.", context: context))
            }
            return page(unit.members.compactMap(principalJSON), path: "directory/administrativeUnits/\(unit.id)/members",
                        context: "directoryObjects", params: params, base: base, call: context)
        }
        if segments.count == 2, segments[0] == "directoryObjects" {
            // directoryobject-get.md: any directory object by id, with its @odata.type.
            guard hasPermission(OurChoices.readDirectoryObjectPermissions) else { return directoryDenied(context) }
            guard let object = principalJSON(segments[1].lowercased()) ?? principalJSON(segments[1]) else {
                return CallResult(response: error(404, "Request_ResourceNotFound",
                    "Resource '\(segments[1])' does not exist or one of its queried reference-property objects are not present.", context: context))
            }
            return CallResult(response: json(200, object))
        }
        if segments.count == 3, segments[0] == "groups", ["transitiveMembers", "members", "owners"].contains(segments[2]) {
            guard hasPermission(Permissions.readGroupMembers) else { return directoryDenied(context) }
            guard let group = tenant.group(segments[1]) else {
                return CallResult(response: error(404, "Request_ResourceNotFound",
                    "Resource '\(segments[1])' does not exist or one of its queried reference-property objects are not present.", context: context))
            }
            let ids = segments[2] == "members" ? group.members : segments[2] == "owners" ? group.owners : tenant.transitiveMembers(of: group.id)
            return page(ids.compactMap(principalJSON), path: "groups/\(group.id)/\(segments[2])", context: "directoryObjects",
                        params: params, base: base, call: context)
        }
        return CallResult(response: error(400, "BadRequest", "Resource not found for the segment '\(segments.last ?? "")'.", context: context))
    }

    /// The value of `property eq '…'` in a `$filter` (nil when the filter does not have it).
    static func filterValue(_ filter: String, property: String) -> String? {
        let pattern = property + " eq '"
        guard let start = filter.range(of: pattern, options: .caseInsensitive) else { return nil }
        let rest = filter[start.upperBound...]
        guard let end = rest.firstIndex(of: "'") else { return nil }
        return String(rest[..<end])
    }

    private func expandsPrincipal(_ params: [String: String]) -> Bool {
        options.expandsRolePrincipals && (params["$expand"] ?? "").split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("principal") }
    }

    /// One page of `items` (`$top`, `$skiptoken`), with `@odata.nextLink` while more remain.
    func page(_ items: [JSON], path: String, context contextPath: String, params: [String: String], base: String,
              call: CallContext) -> CallResult {
        page(count: items.count, item: { items[$0] }, path: path, context: contextPath, params: params, base: base, call: call)
    }

    /// One page of a collection of `count` items, making only the page's items; the next
    /// link carries the query (`$filter`, `$select`, `$expand`) on.
    func page(count: Int, item: (Int) -> JSON, path: String, context contextPath: String, params: [String: String], base: String,
              call: CallContext) -> CallResult {
        var top = OurChoices.defaultPageSize
        if let raw = params["$top"] {
            guard let value = Int(raw), value >= 1, value <= OurChoices.maxPageSize else {
                return CallResult(response: error(400, "Request_BadRequest", "Invalid page size specified: '\(raw)'. Must be between 1 and \(OurChoices.maxPageSize) inclusive.", context: call))
            }
            top = value
        }
        var offset = 0
        if let token = params["$skiptoken"] {
            guard let value = Int(token, radix: 16), value >= 0 else {
                return CallResult(response: error(400, "Request_BadRequest", "Invalid skip token.", context: call))
            }
            offset = value
        }
        var pairs: [(String, JSON)] = [("@odata.context", .string("\(base)/$metadata#\(contextPath)"))]
        if offset + top < count {
            var query = ["$top=\(top)", "$skiptoken=\(String(offset + top, radix: 16))"]
            if let filter = params["$filter"] { query.append("$filter=" + (filter.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+'"))) ?? filter)) }
            if let expand = params["$expand"] { query.append("$expand=" + expand) }
            if let select = params["$select"] { query.append("$select=" + select) }
            pairs.append(("@odata.nextLink", .string("\(base)/\(path)?" + query.joined(separator: "&"))))
        }
        pairs.append(("value", .array(offset < count ? (offset..<min(count, offset + top)).map(item) : [])))
        return CallResult(response: json(200, .object(pairs)))
    }

    /// A user or group as a directory object (nil for an id the tenant does not know).
    func principalJSON(_ id: String) -> JSON? {
        if let index = tenant.userIndex(id: id) {
            let u = tenant.users[index]
            return .object([("@odata.type", .string("#microsoft.graph.user")), ("id", .string(u.id)),
                            ("displayName", .string(u.displayName)), ("userPrincipalName", .string(u.userPrincipalName))])
        }
        if let g = tenant.group(id) {
            return .object([("@odata.type", .string("#microsoft.graph.group")), ("id", .string(g.id)),
                            ("displayName", .string(g.displayName)), ("isAssignableToRole", .bool(g.isAssignableToRole)),
                            ("securityEnabled", .bool(true)), ("mailEnabled", .bool(false))])
        }
        return nil
    }

    func grantJSON(_ grant: RoleGrant, expandPrincipal: Bool, schedule: Bool = false) -> JSON {
        var pairs: [(String, JSON)] = [
            ("id", .string(grant.id)), ("principalId", .string(grant.principalId)),
            ("roleDefinitionId", .string(DirectoryRoles.templateId(grant.role))), ("directoryScopeId", .string("/")),
            ("appScopeId", .null),
        ]
        if schedule {
            pairs += [("memberType", .string("Direct")), ("status", .string("Provisioned")),
                      ("createdUsing", .string(grant.id)), ("createdDateTime", .string("2024-03-14T09:26:53Z")),
                      ("scheduleInfo", .object([("startDateTime", .string("2024-03-14T09:26:53Z")),
                                                ("expiration", .object([("type", .string("noExpiration"))]))]))]
        }
        if expandPrincipal { pairs.append(("principal", principalJSON(grant.principalId) ?? .null)) }
        return .object(pairs)
    }

    func roleDefinitionJSON(_ name: String) -> JSON {
        .object([("id", .string(DirectoryRoles.templateId(name))), ("displayName", .string(name)),
                 ("isBuiltIn", .bool(DirectoryRoles.templates[name] != nil)), ("isEnabled", .bool(true)),
                 ("templateId", .string(DirectoryRoles.templateId(name)))])
    }

    /// `/directoryRoles`: only roles with an active assignment exist as directory roles;
    /// members are the assigned principals (a group, not its users), capped without a link.
    func directoryRoles(expandMembers: Bool, base: String) -> EmulatorResponse {
        var byRole: [String: [String]] = [:]
        for grant in tenant.grants where !grant.eligible { byRole[grant.role, default: []].append(grant.principalId) }
        let value: [JSON] = byRole.keys.sorted().map { name in
            guard case .object(var pairs) = roleJSON(name) else { return roleJSON(name) }
            pairs.removeFirst()
            if expandMembers {
                let members = byRole[name]!.compactMap(principalJSON).prefix(OurChoices.expandLimit)
                pairs.append(("members", .array(Array(members))))
            }
            return .object(pairs)
        }
        return json(200, .object([("@odata.context", .string("\(base)/$metadata#directoryRoles")), ("value", .array(value))]))
    }
}
