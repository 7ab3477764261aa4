import BytePairEncoding

extension Diagnostics {
    /// Which token counting this process uses for estimates (prompts before a call, responses that
    /// report no usage): exact BPE from the rank files of `TOKENLEDGER_BPE_DIR`, or the heuristic
    /// fallback and why. Needs no server.
    ///
    /// - `ok`: both encodings' rank files load: exact counting, naming the directory.
    /// - `warn`: no directory is configured (heuristic estimates), or only one encoding's file loads
    ///   (the other's models fall back to the heuristic).
    /// - `fail`: the directory is configured but no rank file in it loads, or
    ///   `TOKENLEDGER_RESERVATION_MARGIN` does not parse.
    ///
    /// - Parameter settings: The process's local settings (`bpeDir`, `reservationMargin`).
    /// - Returns: The `counting` check.
    public static func counting(_ settings: TokenLedgerConfiguration.LocalSettings) -> Check {
        let margin: ReservationMargin
        do {
            margin = try settings.parsedReservationMargin()
        } catch {
            return Check(name: "counting", status: .fail, detail: error.message)
        }
        let marginText = "reservation margin \(margin)"
        guard let directory = settings.bpeDirectory else {
            return Check(
                name: "counting", status: .warn,
                detail:
                    "heuristic estimates (the fallback): TOKENLEDGER_BPE_DIR is not set; install the bpe-openai rank files and point TOKENLEDGER_BPE_DIR at them for exact counts (docs/estimation.md); \(marginText)"
            )
        }
        let counting = TokenCounting(directory: directory, reservationMargin: margin)
        var exact: [String] = []
        var problems: [String] = []
        for encoding in EncodingName.allCases {
            do {
                _ = try counting.exactEstimator(for: encoding)
                exact.append(encoding.rawValue)
            } catch {
                problems.append("\(encoding.rawValue) falls back to the heuristic: \(error.message)")
            }
        }
        if problems.isEmpty {
            return Check(
                name: "counting", status: .ok,
                detail: "exact BPE counting (\(exact.joined(separator: ", "))) from \(directory); \(marginText)")
        }
        let status: Status = exact.isEmpty ? .fail : .warn
        let what = exact.isEmpty ? "no rank file loads" : "exact BPE counting for \(exact.joined(separator: ", "))"
        return Check(
            name: "counting", status: status,
            detail: "\(what) from TOKENLEDGER_BPE_DIR \(directory); \(problems.joined(separator: "; ")); \(marginText)")
    }
}
