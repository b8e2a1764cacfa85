import ArgumentParser
import FoundationEssentials
import Glibc
import PostCall
import PostCallConsole

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage the console's users: add, remove, list.",
        subcommands: [Add.self, Remove.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user, or give an existing one a new password and role.",
            discussion: """
                The password is asked for twice on a terminal, or read from --password-file \
                (`-` for standard input), never from the command line. It is stored as a bcrypt \
                hash (cost 12) in the users file, which the running console reads again when it \
                changes.
                """)

        @OptionGroup var options: ConsoleOptions
        @Argument(help: "Letters, digits, . _ - @ (at most 64).") var name: String
        @Option(help: "viewer (reads) or operator (also retries).") var role: ConsoleRole
        @Option(name: .customLong("password-file"), help: "A file holding the password, or - for standard input.")
        var passwordFile: String?

        func validate() throws {
            guard ConsoleUser.isValidName(name) else {
                throw ValidationError("the name \(name.debugDescription) may hold only letters, digits, . _ - @ (1 to 64)")
            }
        }

        func run() throws {
            let file = try options.usersFile()
            let password = try readPassword()
            let user = ConsoleUser(name: name, role: role, passwordHash: try PasswordHasher().hash(password))
            let existed = try file.upsert(user)
            print("\(existed ? "updated" : "added") console user \(name) (\(role.rawValue)) in \(file.path)")
        }

        private func readPassword() throws -> String {
            if let passwordFile { return try readSecretText(from: passwordFile) }
            guard isatty(STDIN_FILENO) == 1 else {
                throw PostCallError(.invalidInput, "no terminal to ask for the password: give --password-file FILE, or - for standard input")
            }
            let first = try prompt("Password for \(name): ")
            guard try prompt("Again: ") == first else {
                throw PostCallError(.invalidInput, "the two passwords differ; nothing was changed")
            }
            return first
        }

        private func prompt(_ text: String) throws -> String {
            // getpass reads from the terminal with echo off.
            guard let answer = getpass(text) else {
                throw PostCallError(.invalidInput, "cannot read the password from the terminal")
            }
            return String(cString: answer)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a user; their sessions end at their next request.")

        @OptionGroup var options: ConsoleOptions
        @Argument var name: String

        func run() throws {
            let file = try options.usersFile()
            try file.remove(name: name)
            print("removed console user \(name) from \(file.path)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users and their roles.")

        @OptionGroup var options: ConsoleOptions

        func run() throws {
            let file = try options.usersFile()
            let users = try file.load()
            if users.isEmpty {
                print("no console users in \(file.path); add one with `postcall console user add NAME --role operator`")
            }
            for user in users { print("\(user.name)\t\(user.role.rawValue)") }
        }
    }
}

extension ConsoleRole: ExpressibleByArgument {}
