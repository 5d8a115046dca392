"""A small OpenID Connect provider for the tests: django-oauth-toolkit on its own database.

It shares nothing with the portal: its own settings, URLs and SQLite file, in a process that
`launcher.Provider` starts and stops. The tests drive it through a guarded control endpoint
(users, the one client's redirect URIs, tampered ID tokens).
"""
