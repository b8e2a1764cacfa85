/// The sign-in form.
enum LoginPage {
    static func render(loginToken: String, error: String?, next: String) -> HTML {
        let message: HTML = error.map { "<p class=\"error\" role=\"alert\">\($0)</p>" } ?? .empty
        return ConsolePage.render(
            title: "Sign in", viewer: nil,
            body: """
                \(message)
                <form class="login" method="post" action="/login">
                <input type="hidden" name="csrf" value="\(loginToken)">
                <input type="hidden" name="next" value="\(next)">
                <label>Name<br><input name="name" autocomplete="username" required autofocus></label>
                <label>Password<br><input name="password" type="password" autocomplete="current-password" required></label>
                <button type="submit" class="primary">Sign in</button>
                </form>
                """)
    }
}
