import Foundation

extension Diagnostics {
    /// The `spool` check (no server needed): the events waiting in the local spool, the rejected ones
    /// and the parked ones (their cycle's call ids were dropped after the dedupe window).
    ///
    /// - Parameter status: The spool's status (``EventSpool/status()``).
    /// - Returns: `ok` when nothing is rejected or parked, else `warn` naming the command to run.
    public static func spool(_ status: SpoolStatus) -> Check {
        var detail = "\(status.events) events waiting in \(status.directory)"
        var problems: [String] = []
        if status.parked > 0 {
            problems.append(
                "\(status.parked) parked (older than the dedupe window: tokenledger spool parked list, then apply or drop)"
            )
        }
        if status.rejected > 0 { problems.append("\(status.rejected) rejected (see the rejected-*.jsonl files)") }
        if problems.isEmpty { return Check(name: "spool", status: .ok, detail: detail + "; none parked or rejected") }
        detail += "; " + problems.joined(separator: "; ")
        return Check(name: "spool", status: .warn, detail: detail)
    }
}
