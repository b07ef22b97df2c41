"""The independent safety net: Great Expectations suites over the warehouse, run after dbt.

dbt tests guard each model's contract; these checks look across tables and back at the
source (raw copies, the load ledger, manifests), so they catch what a wrong model would
hide. Import lazily: great_expectations takes seconds to import.
"""
