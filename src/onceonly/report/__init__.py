"""The analyst report: reports/index.html (one self-contained file) and reports/summary.json."""
