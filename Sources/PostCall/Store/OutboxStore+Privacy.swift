extension OutboxStore {
    /// Asks for the write-ahead log to be emptied: called in the transaction that erased a private
    /// event's data, so the request survives the worker that made it.
    func requestScrub() throws {
        try database.run("UPDATE outbox_meta SET scrubs_requested = scrubs_requested + 1")
    }

    /// Whether erased private data may still linger in the write-ahead log.
    public func isScrubRequested() throws -> Bool {
        try database.query("SELECT scrubs_requested > scrubs_done FROM outbox_meta") { $0.int64(0) != 0 }.first ?? false
    }

    /// Empties the write-ahead log if a scrub was asked for (by any worker, even one that died
    /// since). Returns `false` if other connections kept the log from being emptied: try again
    /// later.
    @discardableResult
    public func scrubIfRequested() throws -> Bool {
        guard let (requested, done) = try database.query(
            "SELECT scrubs_requested, scrubs_done FROM outbox_meta", row: { ($0.int64(0), $0.int64(1)) }
        ).first, requested > done else { return true }
        guard try scrubWriteAheadLog() else { return false }
        // Requests made after the read above are not covered by this scrub and stay open.
        try database.run(
            "UPDATE outbox_meta SET scrubs_done = \(dialect.greatest)(scrubs_done, CAST(? AS BIGINT))", [.integer(requested)])
        return true
    }

    /// Erases what a webservice that just became private left in the history: the variables of
    /// its delivered and dead events, every request and response summary of its attempts, and
    /// the detail of their errors (the class stays, as a private webservice records it).
    func erasePrivateHistory(of webservice: String) throws {
        try database.run(
            "UPDATE outbox SET variables = '{}' WHERE webservice = ? AND state IN ('delivered', 'dead') AND variables <> '{}'",
            [.text(webservice)])
        try reduceErrorsToTheirClass(
            select: "SELECT id, last_error FROM outbox WHERE webservice = ? AND last_error IS NOT NULL",
            update: "UPDATE outbox SET last_error = ? WHERE id = ?", webservice: webservice)
        try erasePrivateAttempts(of: webservice)
        try requestScrub()
    }

    /// The attempts' share of ``erasePrivateHistory(of:)``. On SQLite it also runs before, in a
    /// transaction of its own: the attempt log is another file, whose commit follows the outbox's
    /// in a transaction spanning both, so a crash between the two could otherwise leave the data
    /// there while the webservice is already private.
    func erasePrivateAttempts(of webservice: String) throws {
        // The write first: in a transaction that did not take the lock up front, a read first
        // would fail the write after it whenever a worker logged attempts in between.
        try database.run(
            """
            UPDATE attempts SET request = NULL, response = NULL
            WHERE event_id IN (SELECT id FROM outbox WHERE webservice = ?) AND (request IS NOT NULL OR response IS NOT NULL)
            """, [.text(webservice)])
        try reduceErrorsToTheirClass(
            select: """
                SELECT attempts.id, attempts.error FROM attempts JOIN outbox ON outbox.id = attempts.event_id
                WHERE outbox.webservice = ? AND attempts.error IS NOT NULL
                """,
            update: "UPDATE attempts SET error = ? WHERE id = ?", webservice: webservice)
    }

    /// Rewrites each error `select` finds (rows of id and text) to its private form, with `update`.
    private func reduceErrorsToTheirClass(select: String, update: String, webservice: String) throws {
        let errors = try database.query(select, [.text(webservice)]) { ($0.int64(0), $0.text(1)) }
        for (id, error) in errors where AttemptFailure.privateForm(of: error) != error {
            try database.run(update, [.text(AttemptFailure.privateForm(of: error)), .integer(id)])
        }
    }
}
