"""Testing helpers exported for users: hypothesis strategies (:mod:`lintheory.testing.strategies`)."""
