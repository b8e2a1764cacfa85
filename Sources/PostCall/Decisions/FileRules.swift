/// What happens to the files an event uploads: which refusals are worth waiting for, and when
/// a file may be deleted.
///
/// - A missing file is retried (the IVR may still be writing it) until the event's budget ends;
///   a path outside the allowed folders, a directory or a device fails the attempt for good.
///   Neither says anything about the receiver's health.
/// - Once its event is delivered, a file is deleted, unless the webservice keeps files.
/// - A dead event keeps its files so `postcall retry` can send them again, except for a private
///   webservice, whose files go as soon as its event is delivered or dead.
/// - A file another event of the same call still needs (waiting, in flight, dead, or delivered by
///   a webservice that keeps files) is left for that event.
enum FileRules {
    static func failure(for refusal: FileAccess.Refusal) -> AttemptFailure {
        switch refusal {
        case .missing:
            AttemptFailure(errorClass: "file missing", detail: refusal.message, isTransient: true, isEndpointFailure: false)
        case .outside, .notRegular, .database, .unreadable:
            AttemptFailure(errorClass: "file refused", detail: refusal.message, isTransient: false)
        }
    }

    /// Whether an attempt's files are deleted once its outcome is recorded.
    static func deletesFiles(after outcome: DeliveryDecider.Decision.Outcome, webservice: Webservice) -> Bool {
        switch outcome {
        case .delivered: !webservice.keepFiles || webservice.isPrivate
        case .dead: webservice.isPrivate
        case .retry: false
        }
    }

    /// Whether an event in `state` of `webservice` still needs its files.
    static func stillNeedsFiles(state: EventState, webservice: Webservice) -> Bool {
        switch state {
        case .pending, .inFlight: true
        case .dead: !webservice.isPrivate
        case .delivered: webservice.keepFiles && !webservice.isPrivate
        }
    }
}
