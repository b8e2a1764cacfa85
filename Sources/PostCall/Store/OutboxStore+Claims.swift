extension OutboxStore {
    /// Leases up to `limit` due events to `owner`: in-flight rows whose lease expired (their
    /// worker died) first, then pending rows whose time has come. Each lease lasts the
    /// webservice's timeout plus `leaseGrace`, and the claim counts as an attempt.
    ///
    /// An expired lease is taken here only the first time an event loses one: an event that lost
    /// a lease before waits for ``claimAlone(owner:now:leaseGrace:)``.
    ///
    /// Fairness: each webservice with due events is read from its own slice of the pending index,
    /// up to `perWebserviceLimit` minus its `inFlight` count (a negative count lets a caller that
    /// holds events back claim ahead of its slots), with the batch shared out between
    /// webservices before any gets more than its share. So a webservice with a huge backlog or a
    /// slow receiver cannot take every slot, and events of a paused webservice (see ``record(_:now:breaker:)``)
    /// wait without being read at all. Every read walks an index from its due end: the cost does
    /// not grow with the backlog.
    public func claim(
        owner: String, limit: Int, now: Milliseconds = Timestamp.now(), leaseGrace: Milliseconds = 30_000,
        perWebserviceLimit: Int = .max, inFlight: [String: Int] = [:], assumeDue: Bool = false
    ) throws -> [ClaimedEntry] {
        // A read first, unless the caller knows of a backlog: an idle worker never takes the
        // write lock the IVR needs.
        guard limit > 0 else { return [] }
        if !assumeDue, try !hasDueEntries(now: now) { return [] }
        return try database.writeTransaction {
            var entries = try database.query(
                claimSQL.expiredLeases, [.integer(now), .integer(Int64(limit))], row: Self.claimedEntry)

            var room = try dueWebservices(now: now).map { name in
                (name: name, room: max(0, perWebserviceLimit - inFlight[name, default: 0]), taken: 0)
            }.filter { $0.room > 0 }
            // First each webservice's fair share of the batch, then whatever is left to those with more.
            while entries.count < limit, !room.isEmpty {
                let share = max(1, (limit - entries.count) / room.count)
                var next: [(name: String, room: Int, taken: Int)] = []
                for (name, available, alreadyTaken) in room where entries.count < limit {
                    let take = min(share, available, limit - entries.count)
                    let taken = try database.query(
                        claimSQL.pendingSlice, [.text(name), .integer(now), .integer(Int64(take)), .integer(Int64(alreadyTaken))],
                        row: Self.claimedEntry)
                    entries += taken
                    // A webservice that filled its share may have more; one that did not is drained.
                    if taken.count == take && available > take { next.append((name, available - take, alreadyTaken + take)) }
                }
                room = next
            }
            guard !entries.isEmpty else { return [] }
            try lease(entries, to: owner, now: now, leaseGrace: leaseGrace, alone: false)
            return entries
        }
    }

    /// Leases one event that lost a lease before to `owner`, which promises to run it alone:
    /// with nothing else in flight, a worker that dies now most likely died of this event, and
    /// counts as one of its crash strikes when the lease is taken over next.
    public func claimAlone(owner: String, now: Milliseconds = Timestamp.now(), leaseGrace: Milliseconds = 30_000) throws
        -> ClaimedEntry?
    {
        try database.writeTransaction {
            guard var entry = try database.query(claimSQL.expiredLeaseToRunAlone, [.integer(now)], row: Self.claimedEntry).first
            else { return nil }
            try lease([entry], to: owner, now: now, leaseGrace: leaseGrace, alone: true)
            entry.isSolo = true
            return entry
        }
    }

    /// Gives back claimed events that were never attempted, as if never claimed: pending again
    /// with their claim uncounted. Only leases still `owner`'s are changed (another worker may
    /// have taken an event over meanwhile); returns how many were.
    @discardableResult
    public func release(_ entries: [ClaimedEntry], owner: String) throws -> Int {
        guard !entries.isEmpty else { return 0 }
        return try database.writeTransaction {
            var released = 0
            for entry in entries {
                released += try database.run(
                    """
                    UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, lease_solo = 0,
                        attempts = attempts - 1
                    WHERE id = ? AND state = 'in_flight' AND lease_owner = ? AND attempts = ?
                    """,
                    [.integer(entry.id), .text(owner), .integer(Int64(entry.attempt))])
            }
            return released
        }
    }

    /// Whether an event that lost a lease before waits to be run alone.
    public func hasEventsToRunAlone(now: Milliseconds = Timestamp.now()) throws -> Bool {
        try database.query(claimSQL.eventsToRunAlone, [.integer(now)]) { $0.int64(0) != 0 }.first ?? false
    }

    /// Marks `entries` leased, each until `now` plus `leaseGrace` plus its webservice's timeout
    /// (none for a webservice deleted since). One statement per webservice, which reads the
    /// timeout once: looked up for every row, it cost SQLite 3,000 instructions an event
    /// (callgrind), and a query of its own a round trip to PostgreSQL.
    private func lease(_ entries: [ClaimedEntry], to owner: String, now: Milliseconds, leaseGrace: Milliseconds, alone: Bool) throws {
        for (name, ids) in entries.grouped(by: \.webservice, value: \.id) {
            try database.run(
                claimSQL.lease,
                [.text(owner), .integer(now + leaseGrace), .text(Self.jsonArray(ids)), .integer(alone ? 1 : 0), .text(name)])
        }
    }

    /// An event as claimed: its attempt is the claim being made, one more than the claims so far.
    static func claimedEntry(_ row: any SQLRow) -> ClaimedEntry {
        ClaimedEntry(
            id: row.int64(0), webservice: row.text(1), callID: row.text(2), reason: row.text(3),
            variablesJSON: row.text(4), attempt: Int(row.int64(5)) + 1, createdAt: row.int64(6),
            retryBaseAttempt: Int(row.int64(7)), retryBaseAt: row.optionalInt64(8), crashStrikes: Int(row.int64(9)))
    }

    /// The webservices that have due events now and are not paused.
    func dueWebservices(now: Milliseconds) throws -> [String] {
        try database.query(claimSQL.dueWebservices, [.integer(now)]) { $0.text(0) }
    }

    /// `ids` as a JSON array, for statements that take a list as one parameter.
    static func jsonArray(_ ids: [Int64]) -> String {
        // Written by JSONWriter: a string per id, then joined, cost the store thread 1,000
        // instructions an event (callgrind).
        var writer = JSONWriter(capacity: 2 + ids.count * 8)
        writer.raw("[")
        for (index, id) in ids.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.number(Int(id))
        }
        writer.raw("]")
        return writer.text
    }

    /// Whether any event is due now: an expired lease, or a pending event of a webservice that
    /// is not paused.
    public func hasDueEntries(now: Milliseconds = Timestamp.now()) throws -> Bool {
        try database.query(claimSQL.anythingDue, [.integer(now)]) { $0.int64(0) != 0 }.first ?? false
    }

    /// When the next event becomes due (a retry's time, a pause's end or a lease's expiry), if
    /// any is waiting.
    public func nextDueTime() throws -> Milliseconds? {
        try database.query(claimSQL.nextDueTime) { $0.int64(0) }.first.flatMap { $0 >= 9_000_000_000_000_000_000 ? nil : $0 }
    }
}
