@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// Helpers that speak /v1/generations to a TestServer.
extension TestServer {
    /// `POST /v1/generations` on a connection that waits long enough for `Prefer: wait`.
    func generate(_ body: [String: Any], token: String, wait: Int? = nil, headers: [String: String] = [:]) throws
        -> HTTPTestConnection.Response {
        var all = headers
        all["Content-Type"] = "application/json"
        all["Authorization"] = "Bearer \(token)"
        if let wait { all["Prefer"] = "wait=\(wait)" }
        return try HTTPTestConnection(port: port, timeoutSeconds: 90)
            .request("POST", "/v1/generations", headers: all, body: try JSONSerialization.data(withJSONObject: body))
    }

    /// Polls `GET /v1/generations/{id}` until it ends (or `timeout` passes) and returns it.
    func finished(_ id: String, token: String, timeout: Double = 30) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let body = try get("/v1/generations/\(id)", token: token).json()
            let status = body["status"] as? String ?? ""
            if ["succeeded", "failed", "canceled", "expired"].contains(status) || Date() > deadline { return body }
            usleep(50_000)
        }
    }

    /// The project's budget figures: (spent, reserved).
    func budget(of project: String, token: String) throws -> (spent: Money, reserved: Money) {
        let budget = try XCTUnwrap(try get("/v1/projects/\(project)", token: token).json()["budget"] as? [String: Any])
        return (try Money(parsing: try XCTUnwrap(budget["spent"] as? String)), try Money(parsing: try XCTUnwrap(budget["reserved"] as? String)))
    }

    /// The budget once nothing is reserved: a generation shows `succeeded` a moment before its
    /// runner settles the ledger (on every scope), so a poller may look in between.
    func settledBudget(of project: String, token: String, timeout: TimeInterval = 10) throws -> (spent: Money, reserved: Money) {
        let deadline = Date().addingTimeInterval(timeout)
        var budget = try self.budget(of: project, token: token)
        while budget.reserved != .zero, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            budget = try self.budget(of: project, token: token)
        }
        return budget
    }
}
