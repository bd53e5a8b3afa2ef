"""What the tests and the benchmarks both use to run the real thing: servers on loopback, `rag` as a process.

A plain package, not under tests/, so benchmarks import it without importing the test suite. It sits
above rag/ (import-linter keeps rag/, ingest/, webui/ and eval/ off it) and knows nothing of ui.py.
"""
