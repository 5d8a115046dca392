class UsernameConverter:
    """A username in a URL: anything but a slash or NUL. PostgreSQL refuses NUL in text, so a
    lookup with one would fail (500); no user has one, so the URL matches nothing (404)."""

    regex = r"[^/\x00]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value
