"""Write a local `.env` with freshly generated keys, unless one exists. Run by `make run`/`make test`.

Standalone (no Django import) because the settings read the file this writes.
"""

import base64
import os
import secrets
import sys
from pathlib import Path

TEMPLATE = """\
# Written by `make` on first run with generated keys. Never commit this file.
# Keep CREDENTIALS_DIGEST_KEY and CREDENTIALS_ENCRYPTION_KEY safe and backed up:
# without them no stored key or secret can be verified or shown again.
SECRET_KEY={secret_key}
CREDENTIALS_DIGEST_KEY={digest_key}
CREDENTIALS_ENCRYPTION_KEY={encryption_key}
"""


def main(path):
    target = Path(path)
    try:
        # Readable by its owner only from the start, rather than chmod-ed after the keys are in it;
        # and never written over a file, or through a link, that is already there.
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as file:
        file.write(
            TEMPLATE.format(
                secret_key=secrets.token_urlsafe(50),
                digest_key=secrets.token_urlsafe(32),
                encryption_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            )
        )
    print(f"Wrote {target} with generated keys.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
