"""Test doubles that ship with reasonmill, usable outside its own tests.

`reasonmill.testing.loopback` is a small OpenAI-compatible HTTP server with fault injection: the
stand-in for `vllm serve` in tests, benchmarks and demos (`python -m reasonmill.testing.loopback`).
Nothing in a build imports this package.
"""
