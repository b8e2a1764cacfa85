/// Claimed events waiting for a free transfer slot, started in the order they were claimed.
///
/// One first-in, first-out queue per webservice, so starting the oldest event whose webservice's
/// share allows it costs the same with 1 or 256 waiting. (One list scanned and rebuilt at every
/// start cost some 40,000 instructions per event with 256 waiting, more than the request itself.)
struct WaitingEvents {
    struct Event {
        let entry: ClaimedEntry
        let webservice: Result<(Webservice, RequestTemplate), PostCallError>
        let claimedAt: Milliseconds
    }

    private struct Queue {
        let webservice: String
        /// Each event with its place in the claim order.
        var events: [(order: Int, event: Event)] = []
        /// Events before it were taken; the array is compacted when they are half of it.
        var head = 0

        var isEmpty: Bool { head == events.count }
        var count: Int { events.count - head }
        var first: (order: Int, event: Event)? { isEmpty ? nil : events[head] }

        mutating func removeFirst() -> Event {
            let event = events[head].event
            head += 1
            if head == events.count {
                events.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 32, head * 2 >= events.count {
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
        queues.lazy.compactMap { $0.first }.min { $0.order < $1.order }?.event.claimedAt
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
        queues[index].events.append((nextOrder, event))
        nextOrder += 1
        count += 1
    }

    /// Takes the longest-waiting event whose webservice `mayStart` allows, if any.
    mutating func removeOldest(where mayStart: (String) -> Bool) -> Event? {
        var chosen: Int?
        var chosenOrder = Int.max
        for index in queues.indices {
            guard let first = queues[index].first, first.order < chosenOrder, mayStart(queues[index].webservice) else {
                continue
            }
            chosen = index
            chosenOrder = first.order
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
            while let first = queues[index].first, first.event.claimedAt < cutoff {
                removed.append(take(from: index).entry)
            }
        }
        queues.removeAll { $0.isEmpty }
        return removed
    }

    /// Takes every event.
    mutating func removeAll() -> [ClaimedEntry] {
        let entries = queues.flatMap { $0.events[$0.head...].map(\.event.entry) }
        queues.removeAll()
        count = 0
        return entries
    }

    private mutating func take(from index: Int) -> Event {
        let event = queues[index].removeFirst()
        count -= 1
        return event
    }
}
