/// Claimed events waiting for a free transfer slot, started in the order they were claimed.
///
/// One first-in, first-out queue per webservice, so starting the oldest event whose webservice's
/// share allows it costs the same with 1 or 256 waiting. (One list scanned and rebuilt at every
/// start cost some 40,000 instructions per event with 256 waiting, more than the request itself.)
struct WaitingEvents {
    struct Event {
        let entry: ClaimedEntry
        let webservice: Result<CompiledWebservice, PostCallError>
        let claimedAt: Milliseconds
    }

    private struct Queue {
        let webservice: String
        /// Each event's place in the claim order and when it was claimed, beside the event: read
        /// at every start, without copying the event (its webservice and template included).
        var orders: [Int] = []
        var claimedAt: [Milliseconds] = []
        /// `nil` once taken.
        var events: [Event?] = []
        /// Events before it were taken; the arrays are compacted when they are half of them.
        var head = 0

        var isEmpty: Bool { head == events.count }
        var count: Int { events.count - head }
        var firstOrder: Int? { isEmpty ? nil : orders[head] }
        var firstClaimedAt: Milliseconds? { isEmpty ? nil : claimedAt[head] }

        mutating func append(_ event: Event, order: Int) {
            orders.append(order)
            claimedAt.append(event.claimedAt)
            events.append(event)
        }

        mutating func removeFirst() -> Event? {
            guard !isEmpty else { return nil }
            let event = events[head].take()
            head += 1
            if head == events.count {
                orders.removeAll(keepingCapacity: true)
                claimedAt.removeAll(keepingCapacity: true)
                events.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 32, head * 2 >= events.count {
                orders.removeFirst(head)
                claimedAt.removeFirst(head)
                events.removeFirst(head)
                head = 0
            }
            return event
        }
    }

    private var queues: [Queue] = []
    private var nextOrder = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// When the longest-waiting event was claimed.
    var oldestClaimedAt: Milliseconds? {
        queues.min { ($0.firstOrder ?? .max) < ($1.firstOrder ?? .max) }?.firstClaimedAt
    }

    /// How many events wait, per webservice.
    var countsByWebservice: [(webservice: String, count: Int)] {
        queues.map { ($0.webservice, $0.count) }
    }

    mutating func append(_ event: Event) {
        let index =
            queues.firstIndex { $0.webservice == event.entry.webservice }
            ?? {
                queues.append(Queue(webservice: event.entry.webservice))
                return queues.count - 1
            }()
        queues[index].append(event, order: nextOrder)
        nextOrder += 1
        count += 1
    }

    /// Takes the longest-waiting event whose webservice `mayStart` allows, if any.
    mutating func removeOldest(where mayStart: (String) -> Bool) -> Event? {
        var chosen: Int?
        var chosenOrder = Int.max
        for index in queues.indices {
            guard let order = queues[index].firstOrder, order < chosenOrder, mayStart(queues[index].webservice) else { continue }
            chosen = index
            chosenOrder = order
        }
        guard let chosen else { return nil }
        let event = take(from: chosen)
        if queues[chosen].isEmpty { queues.remove(at: chosen) }
        return event
    }

    /// Takes every event claimed before `cutoff`.
    mutating func removeClaimed(before cutoff: Milliseconds) -> [ClaimedEntry] {
        var removed: [ClaimedEntry] = []
        for index in queues.indices {
            // A queue is in claim order, so its stale events come first.
            while let claimedAt = queues[index].firstClaimedAt, claimedAt < cutoff, let event = take(from: index) {
                removed.append(event.entry)
            }
        }
        queues.removeAll { $0.isEmpty }
        return removed
    }

    /// Takes every event.
    mutating func removeAll() -> [ClaimedEntry] {
        let entries = queues.flatMap { $0.events[$0.head...].compactMap { $0?.entry } }
        queues.removeAll()
        count = 0
        return entries
    }

    private mutating func take(from index: Int) -> Event? {
        guard let event = queues[index].removeFirst() else { return nil }
        count -= 1
        return event
    }
}
