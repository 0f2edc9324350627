"""``python -m proofs_check`` runs the derivation checks like ``lintheory proofs``."""

import subprocess
import sys


def test_python_m_proofs_check_svm():
    res = subprocess.run([sys.executable, "-m", "proofs_check", "svm"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert "proofs.svm.thmD1.stationary_ratio" in res.stdout
    assert "0 differ from expected" in res.stdout
