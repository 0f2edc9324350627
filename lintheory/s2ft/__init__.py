"""S²FT vs LoRA vs full fine-tuning of one layer of a deep linear network (seed ``003_6b1767d2fe2301ea.txt``).

Section 4 and Appendices F–G.  Rooms:

* :mod:`~lintheory.s2ft.closed_form` -- minimum-norm estimators (finite n and population), exact risks,
  the sharp S²FT OOD identity, covariate-shift bounds, exact finite-sample variance (main API);
* :mod:`~lintheory.s2ft.printed` -- the bounds as printed in the paper;
* :mod:`~lintheory.s2ft.solvers` -- vectorised least squares on the Kronecker form, gradient descent on (U, V),
  whitened formulas, batched population sweeps;
* :mod:`~lintheory.s2ft.train` -- a torch deep linear network with a LoRA / S²FT / full adapter on layer ell;
* :mod:`~lintheory.s2ft.data` -- instances, generators and ID sampling;
* :mod:`~lintheory.s2ft.claims` -- the claims of this suite.
"""

from .closed_form import (
    excess_risk,
    full_fit,
    full_population,
    lora_factors,
    lora_fit,
    lora_population,
    network_parts,
    no_free_lunch_slack,
    s2ft_adapter,
    s2ft_fit,
    s2ft_ood_bound_sharp,
    s2ft_ood_identity,
    s2ft_population,
)
from .data import Instance, channel_split_instance, random_instance, sample_id

__all__ = [
    "full_fit", "s2ft_fit", "lora_fit", "excess_risk",
    "full_population", "s2ft_population", "lora_population",
    "lora_factors", "s2ft_adapter", "network_parts",
    "s2ft_ood_identity", "s2ft_ood_bound_sharp", "no_free_lunch_slack",
    "Instance", "random_instance", "channel_split_instance", "sample_id",
]
