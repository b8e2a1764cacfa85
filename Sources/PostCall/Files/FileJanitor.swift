/// Deletes the files of events that no longer need them, following ``FileRules``, and never a
/// file outside the allowed folders (every path goes through ``FileAccess``).
public struct FileJanitor {
    let access: FileAccess
    let outboxID: String
    /// A webservice and its parsed templates by name; `nil` when it cannot be had.
    let webservice: (String) -> CompiledWebservice?

    public init(access: FileAccess, outboxID: String, webservice: @escaping (String) -> CompiledWebservice?) {
        self.access = access
        self.outboxID = outboxID
        self.webservice = webservice
    }

    /// A janitor that reads each webservice from `store` (for the command line).
    public init(access: FileAccess, store: OutboxStore) throws {
        var cache: [String: CompiledWebservice?] = [:]
        self.init(access: access, outboxID: try store.outboxID()) { name in
            if let known = cache[name] { return known }
            let loaded = (try? store.webservice(named: name)).flatMap { $0 }.flatMap { webservice in
                (try? RequestTemplate(webservice)).map { CompiledWebservice(webservice: webservice, template: $0) }
            }
            cache[name] = loaded
            return loaded
        }
    }

    /// The real paths of the files `event` uploads that exist inside the allowed folders.
    public func files(of event: StoredEvent) -> [String] {
        guard let template = webservice(event.webservice)?.template, let values = try? event.templateValues(outboxID: outboxID)
        else { return [] }
        return template.filePaths(values).compactMap { try? access.resolve($0).get() }
    }

    /// Deletes `paths` (real paths an event of `callID` uploaded), except those another event of
    /// the call, not in `leaving`, still needs. Returns the paths deleted.
    @discardableResult
    public func delete(_ paths: [String], ofCall callID: String, leaving: Set<Int64>, store: OutboxStore) throws -> [String] {
        guard !paths.isEmpty else { return [] }
        var needed: Set<String> = []
        for sibling in try store.events(ofCall: callID) where !leaving.contains(sibling.id) {
            guard let webservice = self.webservice(sibling.webservice)?.webservice, webservice.sendsFiles,
                FileRules.stillNeedsFiles(state: sibling.state, webservice: webservice)
            else { continue }
            needed.formUnion(files(of: sibling))
        }
        return paths.filter { !needed.contains($0) && access.delete($0) }
    }

    /// How many files the events still to be delivered (or retried) wait with, and their bytes.
    public func waitingFiles(in store: OutboxStore) throws -> (count: Int, bytes: Int64) {
        var seen: Set<String> = []
        var bytes: Int64 = 0
        for event in try store.eventsWithFiles(in: [.pending, .inFlight, .dead]) {
            for path in files(of: event) where seen.insert(path).inserted {
                if case .success(let file) = access.open(path) { bytes += file.size }
            }
        }
        return (seen.count, bytes)
    }
}

extension OutboxStore {
    /// ``stats(now:)`` with the files waiting in `access`'s folders counted: what `postcall stats`
    /// and the console's `/api/stats` report.
    public func stats(countingFilesIn access: FileAccess, now: Milliseconds = Timestamp.now()) throws -> OutboxStats {
        var stats = try stats(now: now)
        (stats.filesWaiting, stats.filesWaitingBytes) = try FileJanitor(access: access, store: self).waitingFiles(in: self)
        return stats
    }
}
