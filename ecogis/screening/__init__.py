"""Screen stage: the vectorised screening engine."""
