"""``python -m proofs_check [PAPER]``: run the derivation checks (same as ``lintheory proofs``)."""

import sys

from lintheory.cli import main

if __name__ == "__main__":
    args = ["proofs"] + (["--paper", sys.argv[1]] if len(sys.argv) > 1 else [])
    sys.exit(main(args))
