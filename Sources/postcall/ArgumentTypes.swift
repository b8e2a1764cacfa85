import ArgumentParser
import PostCall

// Typed options: argument-parser refuses a value outside these before any command runs, with
// exit 2 and the list of valid values.
extension EventState: ExpressibleByArgument {}
extension SOAPVersion: ExpressibleByArgument {}
