import FoundationEssentials

extension OutboxStore {
    /// Records a batch of attempts and moves each event to its next state.
    ///
    /// An outcome is applied only while its lease is still the current one (same owner, same
    /// claim number, still in flight); the others are returned, not applied, because another
    /// worker has taken the event over. Their attempts are in the history all the same, since
    /// they happened. On SQLite the attempt log is written first, in a transaction of its own
    /// (see ``logAttempts(_:)``); on PostgreSQL attempts and outcomes share one statement.
    ///
    /// Each webservice's health follows: a delivery resets its failure count; a transient failure
    /// adds one, and from `breaker.threshold` failures in a row on, the webservice is paused for
    /// a time that grows with the count (up to `breaker.maximumPause`).
    @discardableResult
    public func record(
        _ records: [AttemptRecord], now: Milliseconds = Timestamp.now(), breaker: CircuitBreaker = CircuitBreaker()
    ) throws -> [AttemptRecord] {
        try logAttempts(records)
        return try applyOutcomes(of: records, now: now, breaker: breaker)
    }

    /// SQLite: adds the attempts to the attempt log, in a transaction that does not take the
    /// outbox's write lock, so the IVR's inserts do not wait while they are written. Logged
    /// before their outcomes are applied, a crash in between leaves attempts whose events are
    /// still leased: those are tried again once the lease expires, and the history shows both
    /// tries. Logging the same attempt again (after a failed exchange) changes nothing. Nothing
    /// to do on PostgreSQL, where ``applyOutcomes(of:now:breaker:)`` adds them.
    func logAttempts(_ records: [AttemptRecord]) throws {
        guard !records.isEmpty, let database = database as? Database else { return }
        try database.attemptLogTransaction {
            var start = 0
            for insert in Self.attemptInserts {
                while records.count - start >= insert.rows {
                    var values: [SQLValue] = []
                    values.reserveCapacity(insert.rows * 10)
                    for record in records[start..<start + insert.rows] {
                        values += [
                            .integer(record.entry.id), .integer(Int64(record.entry.attempt)), .text(record.worker),
                            .integer(record.startedAt), .integer(record.durationMilliseconds), .text(record.outcome.rawValue),
                            SQLValue(record.httpStatus), SQLValue(record.error), SQLValue(record.requestSummary),
                            SQLValue(record.responseSummary),
                        ]
                    }
                    try database.run(insert.sql, values)
                    start += insert.rows
                }
            }
        }
    }

    /// The attempt log's `INSERT`s, by how many attempts each writes, largest first: a batch
    /// goes in as few statements of these fixed shapes as it takes (the last writes one). Each
    /// run of a statement opens the table's and its two indexes' cursors and frees its registers
    /// again: with one attempt a statement, an attempt cost 18,600 instructions, with sixteen
    /// 12,300 (callgrind, a C program over SQLite writing this file's rows as a worker does).
    static let attemptInserts: [(rows: Int, sql: String)] = [16, 4, 1].map { rows in
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        return (rows, """
            INSERT OR IGNORE INTO attempt_log.attempts (event_id, attempt, worker, started_at, duration_ms, outcome,
                                                        http_status, error, request, response)
            VALUES \(Array(repeating: row, count: rows).joined(separator: ", "))
            """)
    }

    /// Applies the outcomes of `records` whose lease is still current, in one write transaction
    /// (or the one open); returns the others. See ``record(_:now:breaker:)``.
    func applyOutcomes(of records: [AttemptRecord], now: Milliseconds, breaker: CircuitBreaker) throws -> [AttemptRecord] {
        guard !records.isEmpty else { return [] }
        return try database.writeTransaction {
            let rows = records.map(OutcomeRow.init)
            let applied = try dialect == .postgres ? applyInOneStatement(rows) : applyOneByOne(rows)
            // Usually every outcome applies: the batch is then used as it is, not copied twice.
            let allApplied = applied.count == records.count
            try updateHealth(of: allApplied ? records : records.filter { applied.contains($0.entry.id) }, now: now, breaker: breaker)
            if rows.contains(where: { $0.erase == 1 && applied.contains($0.id) }) { try requestScrub() }
            return allApplied ? [] : records.filter { !applied.contains($0.entry.id) }
        }
    }

    /// What one outcome writes: to its event's row (while the lease is still `owner`'s, at
    /// `attempt`) and, on PostgreSQL, as a new row of `attempts`. Encoded as JSON for
    /// PostgreSQL's batch.
    struct OutcomeRow: Encodable {
        let id: Int64
        let owner: String
        let attempt: Int
        let state: String
        let nextAttemptAt: Milliseconds?
        let deliveredAt: Milliseconds?
        let error: String?
        /// 1 to erase the event's variables: a private webservice's event in a final state.
        let erase: Int
        /// 1 when the attempt does not count against the retry budget.
        let refund: Int
        let startedAt: Milliseconds
        let durationMilliseconds: Int64
        let outcome: String
        let httpStatus: Int?
        let request: String?
        let response: String?

        init(_ record: AttemptRecord) {
            id = record.entry.id
            owner = record.worker
            attempt = record.entry.attempt
            state = record.resultingState.rawValue
            nextAttemptAt = record.nextAttemptAt
            deliveredAt = record.outcome == .delivered ? record.finishedAt : nil
            error = record.error
            erase = record.isPrivate && record.outcome != .retry ? 1 : 0
            refund = record.refundsAttempt ? 1 : 0
            startedAt = record.startedAt
            durationMilliseconds = record.durationMilliseconds
            outcome = record.outcome.rawValue
            httpStatus = record.httpStatus
            request = record.requestSummary
            response = record.responseSummary
        }
    }

    /// SQLite runs in this process: a prepared statement per row costs no round trip, and reads
    /// no JSON. Returns the ids whose outcome was applied; their attempts are logged already.
    private func applyOneByOne(_ rows: [OutcomeRow]) throws -> Set<Int64> {
        var applied = Set<Int64>()
        for row in rows {
            let changed = try database.run(
                """
                UPDATE outbox SET
                    state = ?1, lease_owner = NULL, lease_expires_at = NULL, lease_solo = 0,
                    next_attempt_at = coalesce(?2, next_attempt_at), delivered_at = ?3, last_error = ?4,
                    variables = CASE WHEN ?5 = 1 THEN '{}' ELSE variables END,
                    retry_base_attempt = retry_base_attempt + ?9
                WHERE id = ?6 AND state = 'in_flight' AND lease_owner = ?7 AND attempts = ?8
                """,
                [
                    .text(row.state), SQLValue(row.nextAttemptAt), SQLValue(row.deliveredAt), SQLValue(row.error),
                    .integer(Int64(row.erase)), .integer(row.id), .text(row.owner), .integer(Int64(row.attempt)),
                    .integer(Int64(row.refund)),
                ])
            if changed == 1 { applied.insert(row.id) }
        }
        return applied
    }

    /// PostgreSQL is a round trip away: the whole batch goes as one JSON parameter to one
    /// statement that adds the attempts (as SQLite's attempt log does: all of them, once) and
    /// updates the events whose lease is still current.
    private func applyInOneStatement(_ rows: [OutcomeRow]) throws -> Set<Int64> {
        let batch = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        return Set(try database.query(Self.applyOutcomesSQL, [.text(batch)]) { $0.int64(0) })
    }

    static let applyOutcomesSQL = """
        WITH input AS (
            SELECT * FROM json_to_recordset(CAST(? AS JSON)) AS row(
                "id" BIGINT, "owner" TEXT, "attempt" INTEGER, "state" TEXT, "nextAttemptAt" BIGINT, "deliveredAt" BIGINT,
                "error" TEXT, "erase" INTEGER, "refund" INTEGER, "startedAt" BIGINT, "durationMilliseconds" BIGINT,
                "outcome" TEXT, "httpStatus" INTEGER, "request" TEXT, "response" TEXT)
        ), updated AS (
            UPDATE outbox SET
                state = input.state, lease_owner = NULL, lease_expires_at = NULL, lease_solo = 0,
                next_attempt_at = coalesce(input."nextAttemptAt", outbox.next_attempt_at), delivered_at = input."deliveredAt",
                last_error = input.error, variables = CASE WHEN input.erase = 1 THEN '{}' ELSE outbox.variables END,
                retry_base_attempt = outbox.retry_base_attempt + input.refund
            FROM input
            WHERE outbox.id = input.id AND outbox.state = 'in_flight' AND outbox.lease_owner = input.owner
              AND outbox.attempts = input.attempt
            RETURNING outbox.id
        ), logged AS (
            INSERT INTO attempts (event_id, attempt, worker, started_at, duration_ms, outcome, http_status, error, request, response)
            SELECT input.id, input.attempt, input.owner, input."startedAt", input."durationMilliseconds", input.outcome,
                   input."httpStatus", input.error, input.request, input.response
            FROM input
            ON CONFLICT (event_id, attempt) DO NOTHING
        )
        SELECT id FROM updated
        """

    /// Applies a batch's outcomes to each webservice's health (see ``CircuitBreaker``): read,
    /// decided by the breaker, written back only when it changed, inside the batch's transaction.
    private func updateHealth(of records: [AttemptRecord], now: Milliseconds, breaker: CircuitBreaker) throws {
        let signals = records.grouped(by: \.entry.webservice) { record -> CircuitBreaker.Signal? in
            record.outcome == .delivered ? .delivered : record.isEndpointFailure ? .endpointFailure : nil
        }
        // In name order: two PostgreSQL workers updating the same webservices in different orders
        // would deadlock.
        for (name, batch) in signals.sorted(by: { $0.key < $1.key }) {
            guard let current = try database.query(
                "SELECT consecutive_failures, paused_until FROM webservices WHERE name = ?", [.text(name)],
                row: { CircuitBreaker.Health(consecutiveFailures: Int($0.int64(0)), pausedUntil: $0.optionalInt64(1)) }
            ).first else { continue }
            let next = breaker.health(after: batch, from: current, now: now)
            guard next != current else { continue }
            try database.run(
                "UPDATE webservices SET consecutive_failures = ?, paused_until = ? WHERE name = ?",
                [.integer(Int64(next.consecutiveFailures)), SQLValue(next.pausedUntil), .text(name)])
        }
    }
}
