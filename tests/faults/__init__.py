"""The fault suite: bad input, hostile files and a hostile environment.

Each case asserts its exact outcome; docs/faults.md lists them all.
"""
