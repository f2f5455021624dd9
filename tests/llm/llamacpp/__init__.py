"""Tests of reasonmill's LLM path against llama.cpp's OpenAI-compatible server (llama-cpp-python),
a server implementation the project did not write, with a tiny random-weight GGUF written here."""
