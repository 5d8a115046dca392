import time


def age_session(client, **seconds_ago):
    """Move the session's stamps (signed_in_at, authenticated_at, seen_at) this many seconds back."""
    session = client.session
    for key, ago in seconds_ago.items():
        session[key] = time.time() - ago
    session.save()
