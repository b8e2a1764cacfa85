/// The Content-Type a file part or a raw file body is sent with, from the file's extension.
public enum FileContentType {
    static let byExtension: [String: String] = [
        "wav": "audio/wav", "ul": "audio/basic", "ulaw": "audio/basic", "au": "audio/basic", "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
    ]

    /// `audio/wav` for `…/message.WAV`; `application/octet-stream` for anything unknown.
    public static func forPath(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "application/octet-stream" }
        return byExtension[name[name.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }
}
