"""Write a local `.env` with freshly generated keys, unless one exists. Run by `make run`/`make test`.

Standalone (no Django import) because the settings read the file this writes.
"""

import base64
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
    if target.exists():
        return
    target.write_text(
        TEMPLATE.format(
            secret_key=secrets.token_urlsafe(50),
            digest_key=secrets.token_urlsafe(32),
            encryption_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        )
    )
    target.chmod(0o600)
    print(f"Wrote {target} with generated keys.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
