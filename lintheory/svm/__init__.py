"""Multiclass margins, the exact hard-margin SVM and its closed forms on orthonormal data.

Seed ``002_caa97dd52c787aec.txt`` §2 and Appendices C–D.  Rooms:

* :mod:`~lintheory.svm.margins` -- :math:`C(W;D)`, :math:`\\gamma(W;D)`;
* :mod:`~lintheory.svm.closed_form` -- the corrected closed forms (main API);
* :mod:`~lintheory.svm.printed` -- Proposition 2.1(i) and Theorem D.1 as printed;
* :mod:`~lintheory.svm.solvers` -- the exact QP with a KKT certificate over all constraints: a structured
  interior-point method on a working set (default), Clarabel on a working set, or one cvxpy QP;
* :mod:`~lintheory.svm.train` -- a torch linear classifier trained with cross-entropy;
* :mod:`~lintheory.svm.data` -- generators;
* :mod:`~lintheory.svm.claims` -- the claims of this suite.
"""

from .closed_form import max_normalized_margin, orthonormal_svm, svm_frobenius_norm
from .margins import multiclass_margin, normalized_margin, sample_margins
from .solvers import SVMResult, distance_to_optimum_bound, hard_margin_svm, kkt_certificate

__all__ = [
    "multiclass_margin",
    "normalized_margin",
    "sample_margins",
    "hard_margin_svm",
    "SVMResult",
    "kkt_certificate",
    "distance_to_optimum_bound",
    "orthonormal_svm",
    "max_normalized_margin",
    "svm_frobenius_norm",
]
