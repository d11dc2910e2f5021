"""Report stage: outcomes.parquet, errors.csv and report.json from validated chunks."""
