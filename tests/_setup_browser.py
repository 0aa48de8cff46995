"""Test set-up: make sure a headless browser exists for the report test (Debian's chromium).

Installs it with apt-get when missing and we are root; otherwise the browser test skips itself.
"""

import os
import shutil
import subprocess
import sys


def main() -> int:
    if shutil.which("chromium") or os.environ.get("NEURORRN_SKIP_BROWSER_SETUP"):
        return 0
    if not shutil.which("apt-get") or os.geteuid() != 0:
        print("chromium not found and cannot install it; the browser test will be skipped", file=sys.stderr)
        return 0
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                       check=True, env=env, timeout=900)
    except (subprocess.SubprocessError, OSError) as err:
        print(f"could not install chromium ({err}); the browser test will be skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
