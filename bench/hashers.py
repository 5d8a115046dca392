"""What one password check costs at sign-in: Argon2 (the portal's hasher) against PBKDF2 (before).

    .venv/bin/python bench/hashers.py [CHECKS]

Checks a password CHECKS times (default 20) against a hash made by each of Django's hashers, with
Django's own parameters, and prints the processor time per check (all threads; what a sign-in
takes from the workers' cores), the wall-clock time, and the process's peak memory. Results:
docs/performance.md, "Sign-in".
"""

import resource
import statistics
import sys
import time

import django
from django.conf import settings

settings.configure()
django.setup()

from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher  # noqa: E402

PASSWORD = "correct horse battery staple 42"  # noqa: S105


def main(checks):
    for hasher in (Argon2PasswordHasher(), PBKDF2PasswordHasher()):
        encoded = hasher.encode(PASSWORD, hasher.salt())
        hasher.verify(PASSWORD, encoded)  # loads the library outside the measurement
        cpu, wall = [], []
        for _ in range(checks):
            started, processor = time.perf_counter(), time.process_time()
            assert hasher.verify(PASSWORD, encoded)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - processor)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        parameters = encoded.rsplit("$", 2)[0]
        print(
            f"{parameters}: processor ms median {statistics.median(cpu) * 1000:.0f}"
            f" (min {min(cpu) * 1000:.0f}), wall ms median {statistics.median(wall) * 1000:.0f}"
            f" (min {min(wall) * 1000:.0f}); peak memory so far {peak:.0f} MiB"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
