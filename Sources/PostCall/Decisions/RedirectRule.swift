/// What a 3xx answer means for a post-call request.
///
/// A redirect is never a delivery, and libcurl is never left to follow one: it would turn a POST
/// answered 301, 302 or 303 into a GET without the body, and the new location's 200 would look
/// like a delivery of data that never arrived. Unless the webservice asks to follow redirects,
/// 301 and 308 (the endpoint moved for good) fail permanently and 302, 303 and 307 are retried.
/// When it asks, up to ``maximumFollowed`` redirects to http(s) are followed with the same method
/// and body, and a redirect to another origin carries no secret header.
enum RedirectRule {
    static let maximumFollowed = 3

    enum Verdict: Equatable {
        /// Send this request next, within the same attempt.
        case follow(HTTPRequest)
        case fail(AttemptFailure)
    }

    /// Judges a response with a 3xx `status`. `target` is the `Location` resolved against the
    /// request's URL; `followed` counts the redirects this attempt has already followed.
    static func judge(
        status: Int, target: String?, request: HTTPRequest, followRedirects: Bool, followed: Int
    ) -> Verdict {
        let isRedirect = [301, 302, 303, 307, 308].contains(status)
        guard isRedirect, let target, !target.isEmpty else {
            return .fail(AttemptFailure(
                errorClass: "http \(status)", detail: "a 3xx answer without a redirect to follow; check the URL", isTransient: false))
        }
        guard followRedirects else {
            let isPermanent = status == 301 || status == 308
            return .fail(AttemptFailure(
                errorClass: "http \(status)",
                detail: "redirect to \(SecretMasking.maskURL(target)) not followed; "
                    + (isPermanent
                        ? "the endpoint moved: update the webservice's URL, or set --follow-redirects"
                        : "retrying the original URL; set --follow-redirects to follow it"),
                isTransient: !isPermanent, isEndpointFailure: false))
        }
        guard followed < maximumFollowed else {
            return .fail(AttemptFailure(
                errorClass: "redirects", detail: "more than \(maximumFollowed) redirects; last to \(SecretMasking.maskURL(target))",
                isTransient: false))
        }
        guard let newOrigin = origin(of: target) else {
            return .fail(AttemptFailure(
                errorClass: "http \(status)", detail: "redirect to \(SecretMasking.maskURL(target)) is not http or https",
                isTransient: false))
        }
        var next = request
        next.url = target
        if newOrigin != origin(of: request.url) {
            next.headers.removeAll { SecretMasking.isSecret(headerName: $0.name) }
        }
        return .follow(next)
    }

    /// `scheme://host:port` in lower case with the default port written out, or `nil` for a URL
    /// that is not http(s).
    static func origin(of url: String) -> String? {
        let lowered = url.lowercased()
        let scheme: String
        if lowered.hasPrefix("http://") { scheme = "http" } else if lowered.hasPrefix("https://") { scheme = "https" } else { return nil }
        let afterScheme = lowered.dropFirst(scheme.count + 3)
        var authority = afterScheme.prefix { !"/?#".contains($0) }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let hasPort = authority.last.map(\.isNumber) == true && authority.contains(":") && !authority.hasSuffix("]")
        return scheme + "://" + authority + (hasPort ? "" : (scheme == "http" ? ":80" : ":443"))
    }
}
