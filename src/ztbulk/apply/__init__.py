"""Apply stage: the registry, resolution and batched updates (the import job; not built yet)."""
