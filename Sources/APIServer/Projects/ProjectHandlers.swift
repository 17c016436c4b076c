import Domain
import Foundation

/// `/v1/projects`: decode, one use case, encode. Reads carry an `ETag`; writes honour `If-Match`.
struct ProjectHandlers: Sendable {
    let service: ProjectService
    let authenticator: Authenticator
    var blobRemoval: ProjectBlobRemoval? = nil

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let query: ProjectListQuery
        do {
            query = try ProjectListQuery(archived: request.query["archived"], search: request.query["q"], sort: request.query["sort"],
                                         limit: request.query["limit"], cursor: request.query["cursor"])
        } catch is ProjectCursor.Invalid {
            throw Problem(status: 400, code: "bad_cursor", title: "Bad Request",
                          detail: "The cursor is not one this listing issued; start again without it.")
        }
        let page = try service.list(query, as: identity)
        return .json(bytes: try ProjectPageJSONMemo.body(of: page, query: query, user: identity.userID))
    }

    func create(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let project = try service.create(try request.decodeBody(ProjectFields<NewProjectKeys>.self).members, as: identity)
        var response = try Self.respond(project, status: 201)
        response.headers.append(("Location", "/v1/projects/\(project.id.lowercasedString)"))
        return response
    }

    func get(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        return try Self.respond(try service.get(id: request.pathParameters["id"] ?? "", as: identity))
    }

    func update(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        return try Self.respond(try service.update(id: request.pathParameters["id"] ?? "", try request.decodeBody(ProjectFields<ProjectChangeKeys>.self).members,
                                                   ifMatch: try Self.ifMatch(request), as: identity))
    }

    func delete(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let keys = try service.delete(id: request.pathParameters["id"] ?? "", ifMatch: try Self.ifMatch(request), as: identity)
        blobRemoval?.remove(keys)
        return .noContent()
    }

    private static func respond(_ project: Project, status: Int = 200) throws -> HTTPResponse {
        var response = try HTTPResponse.json(ProjectBody(project), status: status)
        response.headers.append(("ETag", project.etag.header))
        return response
    }

    private static func ifMatch(_ request: HTTPRequest) throws -> IfMatch? {
        do {
            return try IfMatch.parse(request.header("if-match"))
        } catch {
            throw Problem(status: 400, code: "invalid_if_match", title: "Bad Request",
                          detail: "If-Match must be * or a list of entity tags such as \"v3-0123456789abcdef\", as an ETag header gave them.")
        }
    }
}
