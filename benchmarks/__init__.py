"""Performance and load scripts: run them as modules from the repository root (``python -m benchmarks.run``);
they share the server and browser harness of ``tests/support``."""
