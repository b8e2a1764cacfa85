/// The statements that claim and lease events, written once per store for its dialect: they run
/// for every batch, and a cached text is also the key of its prepared statement.
struct ClaimSQL: Sendable {
    /// What a claim reads of each event, in the order ``OutboxStore/claimedEntry(_:)`` decodes.
    static let claimedColumns = """
        id, webservice, call_id, reason, variables, attempts, created_at, retry_base_attempt, retry_base_at,
        crash_strikes + CASE WHEN state = 'in_flight' AND lease_solo = 1 THEN 1 ELSE 0 END
        """

    /// In-flight events whose lease expired and that lost none before, oldest expiry first.
    let expiredLeases: String
    /// The oldest expired lease of an event that lost one before: it runs alone.
    let expiredLeaseToRunAlone: String
    /// Whether such an event waits.
    let eventsToRunAlone: String
    /// The webservices that have due events now and are not paused: one probe of the pending
    /// index per webservice.
    let dueWebservices: String
    /// The oldest due pending events of one webservice, past the ones already taken.
    let pendingSlice: String
    /// Whether anything is due: an expired lease, or a due event of a webservice not paused.
    let anythingDue: String
    /// When the next event falls due: a retry's time (or its webservice's pause's end), or a
    /// lease's expiry; 9e18 when nothing waits.
    let nextDueTime: String
    /// Leases the listed events of one webservice for its timeout past a given time (see
    /// ``OutboxStore/lease(_:to:now:leaseGrace:alone:)``).
    let lease: String

    init(_ dialect: SQLDialect) {
        let leaseIndex = dialect.indexedBy("outbox_lease_expiry")
        let pendingIndex = dialect.indexedBy("outbox_pending_due")
        let lock = dialect.lockSkippingLocked
        expiredLeases = """
            SELECT \(Self.claimedColumns) FROM outbox \(leaseIndex)
            WHERE state = 'in_flight' AND lease_expires_at <= ? AND lost_leases = 0 ORDER BY lease_expires_at LIMIT ? \(lock)
            """
        expiredLeaseToRunAlone = """
            SELECT \(Self.claimedColumns) FROM outbox \(leaseIndex)
            WHERE state = 'in_flight' AND lease_expires_at <= ? AND lost_leases > 0 ORDER BY lease_expires_at LIMIT 1 \(lock)
            """
        // The probes below read the first matching row's id, not just whether an index entry
        // exists: on PostgreSQL a plain index scan (which an id forces) marks the entries of rows
        // updated since the last vacuum (claimed, delivered) as dead and skips them from then on,
        // where an index-only scan or an EXISTS would walk them all again at every probe, slower
        // with each delivery until vacuum. `id > 0` (always true) does the same for the minimums.
        eventsToRunAlone = """
            SELECT (SELECT id FROM outbox \(leaseIndex)
                    WHERE state = 'in_flight' AND lease_expires_at <= ? AND lost_leases > 0
                    ORDER BY lease_expires_at LIMIT 1) IS NOT NULL
            """
        dueWebservices = """
            SELECT name FROM webservices
            WHERE coalesce(paused_until, 0) <= ?1
              AND (SELECT id FROM outbox \(pendingIndex)
                   WHERE state = 'pending' AND webservice = webservices.name AND next_attempt_at <= ?1
                   ORDER BY next_attempt_at LIMIT 1) IS NOT NULL
            """
        pendingSlice = """
            SELECT \(Self.claimedColumns) FROM outbox \(pendingIndex)
            WHERE state = 'pending' AND webservice = ?1 AND next_attempt_at <= ?2
            ORDER BY next_attempt_at LIMIT ?3 OFFSET ?4 \(lock)
            """
        anythingDue = """
            SELECT (SELECT id FROM outbox \(leaseIndex)
                    WHERE state = 'in_flight' AND lease_expires_at <= ?1 ORDER BY lease_expires_at LIMIT 1) IS NOT NULL
                OR EXISTS (\(dueWebservices))
            """
        nextDueTime = """
            SELECT \(dialect.least)(
                coalesce((SELECT min(\(dialect.greatest)(paused, first_due))
                          FROM (SELECT coalesce(paused_until, 0) AS paused,
                                       (SELECT min(next_attempt_at) FROM outbox \(pendingIndex)
                                        WHERE state = 'pending' AND webservice = webservices.name AND id > 0) AS first_due
                                FROM webservices) AS due
                          WHERE first_due IS NOT NULL), 9e18),
                coalesce((SELECT min(lease_expires_at) FROM outbox \(leaseIndex) WHERE state = 'in_flight' AND id > 0), 9e18))
            """
        // Taking over an expired lease counts a lost lease, and a crash strike when that lease
        // ran alone. The rows were read before, so no RETURNING: SQLite buffers every returned
        // row in a temporary table.
        lease = """
            UPDATE outbox SET
                state = 'in_flight', lease_owner = ?1, attempts = attempts + 1,
                lost_leases = lost_leases + CASE WHEN state = 'in_flight' THEN 1 ELSE 0 END,
                crash_strikes = crash_strikes + CASE WHEN state = 'in_flight' AND lease_solo = 1 THEN 1 ELSE 0 END,
                lease_solo = CAST(?4 AS INTEGER),
                lease_expires_at = CAST(?2 AS BIGINT) + coalesce((SELECT timeout_ms FROM webservices WHERE name = ?5), 0)
            WHERE id \(dialect.inIDs("?3"))
            """
    }
}
