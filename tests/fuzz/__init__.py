"""Coverage-guided fuzzing with atheris: the harnesses (targets.py), the runner (run.py), the
committed seed corpus (corpus/TARGET/) and the bounded run of the test suite (test_fuzz.py)."""
