"""Strict JOSE structure checks: compact parsing, base64url, JSON, headers, claims.

Nothing here computes or checks a signature: that is ``joserfc``'s job (see ``algorithms``).
"""
