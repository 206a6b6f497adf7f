#!/bin/sh
# Re-resolve every lock the tests install from, with hashes, to the newest releases allowed:
#   requirements/test.lock                    <- requirements/test.in (guardpolicy[test] + the plugin)
#   requirements/huggingface_hub-VERSION.lock <- each older huggingface_hub the runtime tests patch
# Run it from anywhere after README's test command has made .venv (it brings uv); review the diff,
# run the tests, commit. The locks are for CI's platform: CPython 3.11 on x86_64 Linux.
# torch is the CPU build (PyPI's build pulls several GB of CUDA): TORCH_WHEELS names where its wheel
# is found (this machine kind keeps it in /opt/wheels; elsewhere https://download.pytorch.org/whl/cpu).
set -eu
cd "$(dirname "$0")/.."
UV="${UV:-.venv/bin/uv}"
TORCH_WHEELS="${TORCH_WHEELS:-/opt/wheels}"
compile() {
    "$UV" pip compile --quiet --upgrade --generate-hashes --python-version 3.11 \
        --python-platform x86_64-manylinux_2_28 --custom-compile-command "requirements/update-lock.sh" "$@"
}
compile requirements/test.in --find-links "$TORCH_WHEELS" \
    --no-emit-package guardpolicy --no-emit-package guardpolicy-pip-audit -o requirements/test.lock
for version in 0.25.2 0.36.2 1.33.0; do
    echo "huggingface_hub==$version" | compile - -o "requirements/huggingface_hub-$version.lock"
done
