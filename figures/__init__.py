"""One module per theory figure; ``lintheory figures`` runs them (see README.md here)."""
