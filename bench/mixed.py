"""Scenario 9: /v1/verify on the API pool alone, then again while the portal pool takes a storm of
wrong sign-ins (random usernames, SIGNIN_CONNECTIONS at a time, every one an Argon2 hash) and a
reader keeps opening the Authentication Information tab. Both pools run on this machine, as
`make run` and a one-machine deployment do.

The app's per-address sign-in limit is lifted for the run (LOGIN_ADDRESS_FAILURE_LIMIT), so that
each attempt reaches the hasher: the load of a storm from many addresses, the limit's worst case.
Run twice: with the portal pool at its shipped niceness, and with PORTAL_NICE=0 to show what that
buys. The ratios are verify's requests/s during the storm to its requests/s alone.
"""

import secrets
import threading
import time

SIGNIN_CONNECTIONS = 8
TAB_CONNECTIONS = 1


def measure(*, seeded, start_pools, wrk, seconds, runs, lua_dir):
    """`start_pools(portal_nice, **env)` starts both pools (None: gunicorn.conf.py's niceness);
    `wrk(request, seconds, connections, pool)` runs wrk on "api" or "portal"."""
    verify = ("/v1/verify", ["-H", f"X-Api-Key: {seeded['api_key']}"], [])
    csrf = secrets.token_hex(16)  # 32 characters: a CSRF secret Django accepts as the form token
    signin = ("/accounts/login/", ["-s", str(lua_dir / "signin.lua")], [csrf])
    tab = ("/groups/bench/", ["-H", f"Cookie: sessionid={seeded['session']}"], [])
    results = {}
    for label, nice in (("shipped niceness", None), ("PORTAL_NICE=0", 0)):
        pools = start_pools(nice, LOGIN_ADDRESS_FAILURE_LIMIT="1000000000")
        try:
            wrk(verify, 2, None, "api")
            rounds = []
            for _ in range(runs):
                alone = wrk(verify, seconds, None, "api")
                during, signins, pages = _during(wrk, verify, signin, tab, seconds)
                ratio = round(during["rps"] / alone["rps"], 3)
                rounds.append(
                    {"alone": alone, "during": during, "ratio": ratio, "sign-ins": signins, "tab": pages}
                )
            results[label] = rounds
        finally:
            pools.stop()
    return results


def _during(wrk, verify, signin, tab, seconds):
    """verify under wrk while the sign-in storm and the tab reader run, started a second before and
    ending a second after, so that verify is measured under load from its first request."""
    answers = {}

    def load(name, request, connections):
        answers[name] = wrk(request, seconds + 2, connections, "portal")

    loads = [
        threading.Thread(target=load, args=("sign-ins", signin, SIGNIN_CONNECTIONS)),
        threading.Thread(target=load, args=("tab", tab, TAB_CONNECTIONS)),
    ]
    for thread in loads:
        thread.start()
    time.sleep(1)
    during = wrk(verify, seconds, None, "api")
    for thread in loads:
        thread.join()
    return during, answers["sign-ins"], answers["tab"]
