"""The JOSE layer: strict compact parsing and serialisation, base64url, duplicate-safe JSON,
header rules, registered-claim types, and the algorithm table.

The signature itself is computed and checked by ``joserfc``'s algorithm objects (see
``algorithms``); ``sign`` only serialises the header and payload and hands the signing input to
the key's algorithm object. This package imports nothing of jwtwarden but ``errors``: keys,
policies and verifiers are built on it, never the other way round.
"""
