"""Export stage: writing files."""
